# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import time
from concurrent.futures import ThreadPoolExecutor

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PayByLinkStripeCommon

from stripe_standin import sign

EVENTS_MODEL = "odoo.addons.paybylink_addon.models.paybylink_stripe_event"


@tagged("post_install", "-at_install")
class TestPaybylinkStripeWebhook(PayByLinkStripeCommon):
    """Stripe's events, signed for real and posted over HTTP, in any order and number."""

    def setUp(self):
        super().setUp()
        self.session = self.checkout_session()

    def events(self):
        return self.env["paybylink.stripe.event"].search([("session_id", "=", self.session.id)])

    def test_card_paid_registers_and_reconciles_one_payment(self):
        self.stripe.complete(self.session.stripe_session_id)
        response, _payload = self.send_event(self.session, "checkout.session.completed")
        self.assertEqual((response.status_code, response.text), (200, "handled"))
        payment = self.assertPaidOnce(self.session)
        intent = self.stripe.session(self.session.stripe_session_id)["payment_intent"]
        self.assertEqual(payment.journal_id, self.stripe_journal)
        self.assertEqual(payment.amount, 1234.5)
        self.assertEqual(payment.currency_id, self.invoice.currency_id)
        self.assertEqual(payment.payment_reference, intent)
        self.assertEqual(self.session.payment_intent_id, intent)
        self.assertTrue(payment.move_id.line_ids.filtered("reconciled"))
        self.assertIn(self.invoice, payment.reconciled_invoice_ids)
        self.assertTrue(self.invoice.paybylink_paid_at)
        # The customer is told the payment was received, in their language, once.
        (receipt,) = self.env["mail.mail"].search(
            [("res_id", "=", self.invoice.id), ("subject", "ilike", "reçu")]
        )
        self.assertEqual(receipt.recipient_ids, self.customer)
        self.assertIn("Nous avons bien reçu votre paiement", receipt.body_html)
        notes = "\n".join(self.invoice.message_ids.mapped("body"))
        self.assertIn(intent, notes)
        self.assertIn(payment.name, notes)
        self.assertEqual(len(self.events()), 1)
        self.assertIn("Cette facture est payée", self.url_open(self.page).text)

    def test_chatter_notes_are_in_the_company_language(self):
        self.company.partner_id.lang = "fr_FR"
        self.stripe.complete(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.completed")
        notes = "\n".join(self.invoice.message_ids.mapped("body"))
        self.assertIn("reçu en ligne par Stripe", notes)
        self.assertIn("Facture payée", notes)

    def test_the_same_event_twice_has_its_effect_once(self):
        self.stripe.complete(self.session.stripe_session_id)
        _response, payload = self.send_event(self.session, "checkout.session.completed")
        again = self.post_event(payload)
        self.assertEqual((again.status_code, again.text), (200, "duplicate: already handled"))
        self.assertPaidOnce(self.session)
        self.assertEqual(len(self.events()), 1)

    def test_the_same_event_twice_at_the_same_time_pays_once(self):
        self.stripe.complete(self.session.stripe_session_id)
        payload = self.stripe.make_event(
            self.session.stripe_session_id, "checkout.session.completed"
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(lambda _: self.post_event(payload), range(2)))
        self.assertEqual([response.status_code for response in responses], [200, 200])
        self.assertEqual(
            sorted(response.text for response in responses),
            ["duplicate: already handled", "handled"],
        )
        self.assertPaidOnce(self.session)

    def test_two_events_of_one_payment_at_the_same_time_pay_once(self):
        self.stripe.complete(self.session.stripe_session_id)
        payloads = [
            self.stripe.make_event(self.session.stripe_session_id, "checkout.session.completed"),
            self.stripe.make_event(
                self.session.stripe_session_id, "checkout.session.async_payment_succeeded"
            ),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(self.post_event, payloads))
        self.assertEqual([response.status_code for response in responses], [200, 200])
        self.assertPaidOnce(self.session)
        self.assertEqual(len(self.events()), 2)

    def test_debit_processing_then_succeeded(self):
        self.stripe.complete(self.session.stripe_session_id, paid=False)
        self.send_event(self.session, "checkout.session.completed")
        self.assertEqual(self.session.state, "processing")
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        self.assertFalse(self.session.payment_id, "no payment before the money is there")
        self.stripe.async_succeed(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.async_payment_succeeded")
        self.assertPaidOnce(self.session)

    def test_debit_processing_then_failed_interrupts(self):
        self.stripe.complete(self.session.stripe_session_id, paid=False)
        self.send_event(self.session, "checkout.session.completed")
        self.stripe.async_fail(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.async_payment_failed")
        self.assertEqual(self.session.state, "failed")
        self.assertEqual(self.invoice.paybylink_state, "interrupted")
        self.assertFalse(
            self.env["account.payment"].search([("partner_id", "=", self.customer.id)])
        )
        self.assertIn("The online payment failed", self.invoice.message_ids[0].body)
        self.assertIn("OdooBot", self.invoice.message_ids[0].author_id.name, "not Public user")
        # The salesperson is told, once.
        (activity,) = self.invoice.activity_ids
        self.assertEqual(activity.summary, "Online payment failed")
        self.assertEqual(activity.user_id, self.invoice.invoice_user_id)
        self.send_event(self.session, "checkout.session.async_payment_failed")
        self.assertEqual(len(self.invoice.activity_ids), 1)
        # The customer starts again: a new session, a new chance.
        retry = self.start_checkout()
        self.assertEqual(retry.status_code, 303)
        self.invoice.invalidate_recordset()
        self.assertEqual(len(self.invoice.paybylink_stripe_session_ids), 2)
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_expired_interrupts(self):
        self.stripe.expire(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.expired")
        self.assertEqual(self.session.state, "expired")
        self.assertEqual(self.invoice.paybylink_state, "interrupted")

    def test_a_declined_card_is_said_declined_with_stripes_reason(self):
        self.stripe.decline(
            self.session.stripe_session_id,
            "Your card has insufficient funds.",
            "insufficient_funds",
        )
        response, _payload = self.send_event(self.session, "payment_intent.payment_failed")
        self.assertEqual((response.status_code, response.text), (200, "handled"))
        self.assertEqual(self.session.state, "open", "the customer may try again")
        self.assertEqual(self.session.decline_reason, "card: Your card has insufficient funds.")
        self.assertFalse(self.invoice.activity_ids, "not yet: the customer may try again")
        self.stripe.expire(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.expired")
        self.assertEqual(self.invoice.paybylink_state, "interrupted")
        note = self.invoice.message_ids[0].body
        self.assertIn("declined (card: Your card has insufficient funds.)", note)
        self.assertNotIn("abandoned", note)
        self.assertEqual(self.invoice.activity_ids.summary, "Online payment failed")

    def test_events_out_of_order_end_on_the_facts(self):
        self.stripe.complete(self.session.stripe_session_id, paid=False)
        processing = self.stripe.make_event(
            self.session.stripe_session_id, "checkout.session.completed"
        )
        self.stripe.async_succeed(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.async_payment_succeeded")
        self.assertPaidOnce(self.session)
        # The older "completed, still processing" event arrives last: the payment stays.
        self.assertEqual(self.post_event(processing).status_code, 200)
        self.assertPaidOnce(self.session)

    def test_a_late_expired_never_undoes_a_payment(self):
        self.stripe.complete(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.completed")
        expired = json.loads(
            self.stripe.make_event(self.session.stripe_session_id, "checkout.session.expired")
        )
        expired["data"]["object"]["status"] = "expired"
        self.assertEqual(self.post_event(json.dumps(expired)).status_code, 200)
        self.assertPaidOnce(self.session)

    def test_a_failure_after_a_newer_attempt_started_does_not_interrupt_it(self):
        self.stripe.expire(self.session.stripe_session_id)
        late_expiry = self.stripe.make_event(
            self.session.stripe_session_id, "checkout.session.expired"
        )
        self.session.sudo()._paybylink_refresh()  # the customer came back: the session is over
        newer = self.checkout_session()
        self.assertNotEqual(newer, self.session)
        self.post_event(late_expiry)
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    @mute_logger(EVENTS_MODEL)
    def test_unsigned_tampered_old_or_wrongly_signed_events_are_refused(self):
        self.stripe.complete(self.session.stripe_session_id)
        payload = self.stripe.make_event(
            self.session.stripe_session_id, "checkout.session.completed"
        )
        tampered = payload.replace('"paid"', '"unpaid"', 1)
        for response in (
            self.post_event(payload, signature=""),
            self.post_event(payload, signature="t=1,v1=00"),
            self.post_event(tampered, signature=sign(payload, self.webhook_secret)),
            self.post_event(payload, secret="whsec_someone_else"),
            self.post_event(
                payload, signature=sign(payload, self.webhook_secret, timestamp=time.time() - 301)
            ),
        ):
            self.assertEqual(response.status_code, 400)
        self.assertFalse(self.events())
        self.assertEqual(self.session.state, "open")
        self.assertEqual(self.invoice.payment_state, "not_paid")
        # A signature with the current secret among others (a secret being rolled) is accepted.
        rotated = sign(payload, "whsec_old", extra_secrets=(self.webhook_secret,))
        self.assertEqual(self.post_event(payload, signature=rotated).status_code, 200)
        self.assertPaidOnce(self.session)

    def test_without_webhook_secret_every_event_is_refused(self):
        self.company.paybylink_stripe_webhook_secret = False
        self.stripe.complete(self.session.stripe_session_id)
        response, _payload = self.send_event(self.session, "checkout.session.completed")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.session.state, "open")

    @mute_logger(EVENTS_MODEL)
    def test_events_it_does_not_need_are_acknowledged_and_ignored(self):
        self.stripe.complete(self.session.stripe_session_id)
        other_type = self.stripe.make_event(self.session.stripe_session_id, "charge.refunded")
        self.assertEqual(self.post_event(other_type).status_code, 200)
        unknown = json.loads(
            self.stripe.make_event(self.session.stripe_session_id, "checkout.session.completed")
        )
        unknown["data"]["object"]["id"] = "cs_test_not_ours"
        response = self.post_event(json.dumps(unknown))
        self.assertEqual((response.status_code, response.text), (200, "ignored: unknown session"))
        other_database = json.loads(
            self.stripe.make_event(self.session.stripe_session_id, "checkout.session.completed")
        )
        other_database["data"]["object"]["metadata"]["paybylink_database"] = "another"
        self.assertEqual(self.post_event(json.dumps(other_database)).status_code, 200)
        self.assertEqual(self.post_event("not json").status_code, 200)
        self.assertEqual(self.session.state, "open")
        self.assertFalse(self.events())

    @mute_logger(EVENTS_MODEL)
    def test_no_body_of_any_shape_or_size_gets_a_500(self):
        self.stripe.complete(self.session.stripe_session_id)
        event = json.loads(
            self.stripe.make_event(self.session.stripe_session_id, "checkout.session.completed")
        )
        unsigned = {
            "not UTF-8": b"\xff\xfe{\x00",
            "blank": b"\n",
            "a megabyte": b"{" * 1024 * 1024,
        }
        for name, body in unsigned.items():
            for signature in ("", "t=1,v1=00", "garbage"):
                with self.subTest(body=name, signature=signature):
                    self.assertEqual(self.post_event(body, signature=signature).status_code, 400)

        def shaped(**changes):
            shape = json.loads(json.dumps(event))
            for path, value in changes.items():
                target = shape
                *parents, key = path.split(".")
                for parent in parents:
                    target = target[parent]
                target[key] = value
            return json.dumps(shape)

        signed = {
            "a list": "[1, 2]",
            "a number": "42",
            "nested 100,000 levels": "[" * 100_000 + "]" * 100_000,
            "id a number": shaped(id=12),
            "type a list": shaped(type=["checkout.session.completed"]),
            "data a string": shaped(data="x"),
            "object a string": shaped(**{"data.object": "cs_test"}),
            "object a list": shaped(**{"data.object": [1]}),
            "metadata a string": shaped(**{"data.object.metadata": "x"}),
            "metadata a list": shaped(**{"data.object.metadata": ["x"]}),
            "session id a list": shaped(**{"data.object.id": ["x"]}),
        }
        for name, body in signed.items():
            with self.subTest(body=name):
                self.assertEqual(self.post_event(body).status_code, 200)
        self.assertFalse(self.events(), "nothing recorded")
        self.assertEqual(self.session.state, "open")
        self.assertEqual(self.invoice.payment_state, "not_paid")

    @mute_logger(EVENTS_MODEL)
    def test_an_event_that_cannot_be_handled_yet_is_asked_again(self):
        self.company.paybylink_stripe_journal_id = False
        self.stripe.complete(self.session.stripe_session_id)
        response, payload = self.send_event(self.session, "checkout.session.completed")
        self.assertEqual(response.status_code, 503)
        self.assertFalse(self.events(), "not recorded, so that Stripe's retry is handled")
        self.assertEqual(self.session.state, "open")
        self.company.paybylink_stripe_journal_id = self.stripe_journal
        self.assertEqual(self.post_event(payload).status_code, 200)
        self.assertPaidOnce(self.session)

    def test_paid_twice_the_second_payment_stays_as_a_credit(self):
        self.pay()  # by transfer, while the customer was also paying online
        self.stripe.complete(self.session.stripe_session_id)
        self.send_event(self.session, "checkout.session.completed")
        self.assertEqual(self.session.state, "paid")
        self.assertEqual(self.session.payment_id.state, "in_process")
        self.assertIn("refund the customer", self.invoice.message_ids[0].body)


@tagged("post_install", "-at_install")
class TestPaybylinkStripeMultiCompany(PayByLinkStripeCommon):
    """Two companies, two Stripe accounts: each key and secret serves its own company only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        other = cls.setup_other_company(name="Verrerie du Nord")
        cls.other_company = other["company"]
        cls.other_bank = cls.env["res.partner.bank"].create(
            {"acc_number": "DE89370400440532013000", "partner_id": cls.other_company.partner_id.id}
        )
        cls.configure_stripe(
            cls.other_company, "sk_test_verrerie", "whsec_verrerie", other["default_journal_bank"]
        )
        cls.other_invoice = cls.init_invoice(
            "out_invoice",
            partner=cls.customer,
            amounts=[500],
            post=True,
            company=cls.other_company,
            currency=cls.invoice.currency_id,
        )

    def setUp(self):
        super().setUp()
        self.stripe.add_account("sk_test_verrerie", self.webhook_url, "whsec_verrerie")
        self.send_link(self.other_invoice, partner_bank_id=self.other_bank.id)

    def test_each_company_pays_through_its_own_account(self):
        ours = self.checkout_session()
        theirs = self.checkout_session(self.other_invoice)
        keys = [call["headers"]["Authorization"] for call in self.stripe.requests]
        self.assertIn("Bearer sk_test_atelier", keys)
        self.assertIn("Bearer sk_test_verrerie", keys)
        self.stripe.complete(theirs.stripe_session_id)
        self.stripe.complete(ours.stripe_session_id)
        # Signed with the other company's secret, an event about our session is not acted upon.
        response, _payload = self.send_event(ours, "checkout.session.completed", "whsec_verrerie")
        self.assertEqual(response.text, "ignored: unknown session")
        self.assertEqual(ours.state, "open")
        self.send_event(theirs, "checkout.session.completed", "whsec_verrerie")
        self.assertPaidOnce(theirs, self.other_invoice)
        self.assertEqual(theirs.payment_id.company_id, self.other_company)
