# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .. import const
from .common import PayByLinkStripeCommon, visible_text

STRIPE_DOWN = "Online payment is unavailable at the moment"


@tagged("post_install", "-at_install")
class TestPaybylinkStripeCheckout(PayByLinkStripeCommon):
    """Starting to pay online, and coming back from Stripe Checkout, over HTTP."""

    def linked_invoice(self, amount):
        invoice = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            amounts=[amount],
            post=True,
            currency=self.invoice.currency_id,
        )
        self.send_link(invoice)
        return invoice

    def test_pay_online_is_offered_only_when_stripe_is_set_up(self):
        self.assertIn(f'action="{self.page}/checkout"', self.url_open(self.page).text)
        self.company.paybylink_stripe_journal_id = False
        self.assertNotIn("/checkout", self.url_open(self.page).text)
        self.company.paybylink_stripe_journal_id = self.stripe_journal
        self.company.paybylink_stripe_secret_key = False
        self.assertNotIn("/checkout", self.url_open(self.page).text)
        # Configured again, but the invoice is in dispute: nothing to pay online.
        self.company.paybylink_stripe_secret_key = self.secret_key
        self.assertIn("/checkout", self.url_open(self.page).text)
        self.invoice.action_toggle_block_payment()
        self.assertNotIn("/checkout", self.url_open(self.page).text)

    def test_page_with_pay_online_costs_a_bounded_number_of_queries(self):
        self.checkout_session()  # an attempt under way: the page reads it too
        self.url_open(self.page)  # fill Odoo's caches, as any running server has them
        with self.assertQueryCount(6):
            self.assertIn("/checkout", self.url_open(self.page).text)

    def test_checkout_asks_stripe_for_what_is_due(self):
        before = time.time()
        session = self.checkout_session()
        (call,) = [call for call in self.stripe.requests if call["method"] == "POST"]
        params = call["params"]
        self.assertEqual(call["path"], "/v1/checkout/sessions")
        self.assertEqual(call["headers"]["Authorization"], f"Bearer {self.secret_key}")
        self.assertEqual(
            call["headers"]["Idempotency-Key"], f"paybylink-checkout-{session.attempt_ref}"
        )
        self.assertEqual(params["mode"], "payment")
        (item,) = params["line_items"]
        self.assertEqual(item["price_data"]["currency"], "eur")
        self.assertEqual(item["price_data"]["unit_amount"], "123450")
        self.assertIn(self.invoice.name, item["price_data"]["product_data"]["name"])
        self.assertEqual(params["allowed_payment_method_types"], ["card", "sepa_debit"])
        self.assertNotIn("payment_method_types", params)
        self.assertEqual(params["client_reference_id"], self.invoice.name)
        self.assertEqual(params["customer_email"], "camille.martin@example.com")
        metadata = params["metadata"]
        self.assertEqual(metadata["paybylink_database"], self.env.cr.dbname)
        self.assertEqual(metadata["paybylink_company_id"], str(self.company.id))
        self.assertEqual(metadata["paybylink_invoice_id"], str(self.invoice.id))
        self.assertNotIn(self.invoice.paybylink_token, str(metadata), "the token stays secret")
        return_url = f"{self.invoice.paybylink_url}?attempt={session.attempt_ref}"
        self.assertEqual(params["success_url"], return_url)
        self.assertEqual(params["cancel_url"], return_url)
        self.assertAlmostEqual(int(params["expires_at"]), before + 3600, delta=60)
        self.assertEqual(session.state, "open")
        self.assertEqual(session.amount, 1234.5)
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        self.assertIn(session.stripe_session_id, self.invoice.message_ids[0].body)

    def test_checkout_needs_the_page_csrf_token(self):
        response = self.url_open(
            f"{self.page}/checkout", data={"csrf_token": "forged"}, allow_redirects=False
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)
        self.assertFalse(self.stripe.requests)

    def test_paid_since_the_page_was_shown_goes_back_to_the_page(self):
        csrf_token = self.csrf_token()
        self.pay()
        response = self.url_open(
            f"{self.page}/checkout", data={"csrf_token": csrf_token}, allow_redirects=False
        )
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith(self.page))
        self.assertFalse(self.stripe.requests, "Stripe is not asked")
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)

    def test_pressing_twice_goes_back_to_the_same_checkout(self):
        first = self.start_checkout()
        second = self.start_checkout()
        self.assertEqual(first.headers["Location"], second.headers["Location"])
        self.assertEqual(len(self.invoice.paybylink_stripe_session_ids), 1)
        creations = [call for call in self.stripe.requests if call["method"] == "POST"]
        self.assertEqual(len(creations), 1)

    def test_a_changed_amount_ends_the_old_checkout_and_starts_a_new_one(self):
        old = self.checkout_session()
        self.pay(amount=234.5)  # part paid by other means meanwhile
        self.assertEqual(self.start_checkout().status_code, 303)
        self.invoice.invalidate_recordset()
        new = self.invoice.paybylink_stripe_session_ids[0]
        self.assertNotEqual(new, old)
        self.assertEqual(old.state, "expired")
        self.assertEqual(self.stripe.session(old.stripe_session_id)["status"], "expired")
        self.assertEqual(new.amount, 1000.0)
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    @mute_logger("odoo.addons.paybylink_addon.models.paybylink_link")
    def test_stripe_down_the_page_says_so_and_keeps_the_transfer(self):
        self.stripe.set_outage(503)
        response = self.start_checkout()
        # 200: a proxy that replaces 5xx pages would hide the transfer details.
        self.assertEqual(response.status_code, 200)
        self.assertIn("Le paiement en ligne est momentanément indisponible", response.text)
        self.assertIn("FR76 3000 6000 0112 3456 7890 189", visible_text(response.text))
        self.assertNotIn("Traceback", response.text)
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.stripe.set_outage(None)
        self.assertEqual(self.start_checkout().status_code, 303)

    @mute_logger("odoo.addons.paybylink_addon.models.paybylink_link")
    def test_stripe_refusing_the_key_is_said_plainly(self):
        self.company.paybylink_stripe_secret_key = "sk_test_revoked"
        response = self.start_checkout()
        self.assertEqual(response.status_code, 200)
        self.assertIn("Le paiement en ligne est momentanément indisponible", response.text)
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)

    def test_zero_decimal_currency_is_sent_in_whole_units(self):
        invoice = self.init_invoice(
            "out_invoice",
            partner=self.customer,
            amounts=[15000],
            post=True,
            currency=self.setup_other_currency("JPY", rounding=1.0),
        )
        self.send_link(invoice)
        session = self.checkout_session(invoice)
        (call,) = [call for call in self.stripe.requests if call["method"] == "POST"]
        self.assertEqual(call["params"]["line_items"][0]["price_data"]["currency"], "jpy")
        self.assertEqual(
            int(call["params"]["line_items"][0]["price_data"]["unit_amount"]),
            int(invoice.amount_total),
        )
        self.stripe.complete(session.stripe_session_id)
        self.send_event(session, "checkout.session.completed")
        payment = self.assertPaidOnce(session, invoice)
        self.assertEqual(payment.amount, invoice.amount_total)
        self.assertEqual(payment.currency_id.name, "JPY")

    def test_back_from_stripe_paid_the_page_reads_stripe_even_without_webhook(self):
        session = self.checkout_session()
        self.stripe.complete(session.stripe_session_id)
        html = self.url_open(f"{self.page}?attempt={session.attempt_ref}").text
        self.assertIn("Cette facture est payée", html)
        self.assertPaidOnce(session)
        # The webhook arriving afterwards changes nothing.
        response, _payload = self.send_event(session, "checkout.session.completed")
        self.assertEqual(response.status_code, 200)
        self.assertPaidOnce(session)

    @mute_logger("odoo.addons.paybylink_addon.models.paybylink_link")
    def test_back_from_stripe_paid_when_the_payment_cannot_be_registered_yet(self):
        session = self.checkout_session()
        self.stripe.complete(session.stripe_session_id)
        journal = self.company.paybylink_stripe_journal_id
        self.company.paybylink_stripe_journal_id = False
        response = self.url_open(f"{self.page}?attempt={session.attempt_ref}")
        self.assertEqual(response.status_code, 200)
        self.assertNotEqual(session.state, "paid", "not paid without its payment")
        self.assertFalse(session.payment_id)
        # The journal set again, Stripe's event registers the payment.
        self.company.paybylink_stripe_journal_id = journal
        self.send_event(session, "checkout.session.completed")
        self.assertPaidOnce(session)

    def test_back_from_stripe_without_paying_ends_the_attempt(self):
        session = self.checkout_session()
        html = self.url_open(f"{self.page}?attempt={session.attempt_ref}").text
        self.assertIn("n'a pas abouti", html)
        self.assertEqual(session.state, "expired")
        self.assertEqual(self.stripe.session(session.stripe_session_id)["status"], "expired")
        self.assertEqual(self.invoice.paybylink_state, "interrupted")
        self.assertIn(f'action="{self.page}/checkout"', html, "the customer can try again")

    def test_back_from_stripe_with_a_debit_processing(self):
        session = self.checkout_session()
        self.stripe.complete(session.stripe_session_id, paid=False)
        html = self.url_open(f"{self.page}?attempt={session.attempt_ref}").text
        self.assertIn("en cours de traitement par votre banque", html)
        self.assertEqual(session.state, "processing")
        self.assertNotIn("/checkout", html, "no second payment while one is processed")
        self.assertNotIn("/transfer", html)

    def test_an_attempt_in_the_address_is_never_taken_at_its_word(self):
        session = self.checkout_session()
        html = self.url_open(f"{self.page}?attempt=forged&payment_status=paid").text
        self.assertIn("Nous ne pouvons pas encore confirmer", html)
        self.assertEqual(session.state, "open")
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.payment_state, "not_paid")

    def test_cron_asks_stripe_about_sessions_whose_webhook_was_lost(self):
        paid, failed, recent = (
            self.checkout_session(self.linked_invoice(amount)) for amount in (100, 200, 300)
        )
        self.stripe.complete(paid.stripe_session_id)
        self.stripe.complete(failed.stripe_session_id, paid=False)
        self.stripe.async_fail(failed.stripe_session_id)
        long_ago = fields.Datetime.now() - timedelta(hours=1)
        (paid | failed).sudo().write({"synced_at": long_ago})
        self.env.ref("paybylink_addon.ir_cron_paybylink_stripe_poll").method_direct_trigger()
        self.assertEqual(paid.state, "paid")
        self.assertTrue(paid.payment_id)
        self.assertEqual(failed.state, "failed")
        self.assertEqual(recent.state, "open", "a recent session is left to its webhooks")

    def age_sessions(self, sessions, created_ago, polled_ago=None):
        """Date these sessions back: created, heard of and last polled that long ago."""
        now = fields.Datetime.now()
        sessions.flush_recordset()
        self.env.cr.execute(
            "UPDATE paybylink_stripe_session SET create_date = %s, synced_at = %s, polled_at = %s"
            " WHERE id IN %s",
            (
                now - created_ago,
                now - created_ago,
                polled_ago and now - polled_ago,
                tuple(sessions.ids),
            ),
        )
        sessions.invalidate_recordset()

    def test_debits_being_processed_are_polled_less_often_as_they_age(self):
        sessions = [self.checkout_session(self.linked_invoice(amount)) for amount in range(1, 7)]
        for session in sessions:
            self.stripe.complete(session.stripe_session_id, paid=False)
            self.send_event(session, "checkout.session.completed")
            self.assertEqual(session.state, "processing")
        young_due, young_waits, day_old_due, day_old_waits, old_due, old_waits = sessions
        self.age_sessions(young_due, timedelta(minutes=40), timedelta(minutes=20))
        self.age_sessions(young_waits, timedelta(minutes=40), timedelta(minutes=10))
        self.age_sessions(day_old_due, timedelta(hours=5), timedelta(minutes=70))
        self.age_sessions(day_old_waits, timedelta(hours=5), timedelta(minutes=40))
        self.age_sessions(old_due, timedelta(days=6), timedelta(hours=7))
        self.age_sessions(old_waits, timedelta(days=6), timedelta(hours=2))
        due = self.env["paybylink.stripe.session"].sudo()._paybylink_due_for_poll()
        self.assertEqual(due.ids, [old_due.id, day_old_due.id, young_due.id])
        self.env.ref("paybylink_addon.ir_cron_paybylink_stripe_poll").method_direct_trigger()
        self.assertFalse(self.env["paybylink.stripe.session"].sudo()._paybylink_due_for_poll())

    def test_a_debit_being_processed_folds_the_transfer_away(self):
        session = self.checkout_session()
        self.stripe.complete(session.stripe_session_id, paid=False)
        self.send_event(session, "checkout.session.completed")
        self.assertTrue(session.link_id.online_payment_processing)
        html = self.url_open(self.page).text
        self.assertIn("Inutile de payer par virement", html)
        self.assertIn("<details>", html, "the transfer details, folded")
        self.assertNotIn(f'action="{self.page}/transfer"', html, "no second payment offered")
        self.assertNotIn(f'action="{self.page}/checkout"', html)

    def test_a_session_that_cannot_be_polled_waits_its_turn_and_is_noted_once(self):
        session = self.checkout_session()
        self.age_sessions(session, timedelta(hours=1))
        session_class = type(session)

        def broken_refresh(session):
            raise KeyError("a shape of Stripe's answer no one expected")

        cron = self.env.ref("paybylink_addon.ir_cron_paybylink_stripe_poll")
        with (
            mute_logger("odoo.addons.paybylink_addon.models.paybylink_stripe_session"),
            patch.object(session_class, "_paybylink_refresh", broken_refresh),
        ):
            cron.method_direct_trigger()
            self.assertTrue(session.polled_at)
            self.assertIn("no one expected", session.poll_error)
            self.assertFalse(session._paybylink_due_for_poll(), "polled: it waits 15 minutes")
            self.age_sessions(session, timedelta(hours=1), timedelta(minutes=20))
            cron.method_direct_trigger()
        notes = self.invoice.message_ids.filtered(
            lambda message: "could not be applied" in (message.body or "")
        )
        self.assertEqual(len(notes), 1)
        self.age_sessions(session, timedelta(hours=1), timedelta(minutes=20))
        cron.method_direct_trigger()
        self.assertFalse(session.poll_error)

    def test_a_full_poll_batch_tells_odoo_to_call_again(self):
        sessions = self.checkout_session() | self.checkout_session(self.linked_invoice(50))
        self.age_sessions(sessions, timedelta(hours=1))
        cron = self.env.ref("paybylink_addon.ir_cron_paybylink_stripe_poll")
        with patch.object(const, "STRIPE_POLL_BATCH_SIZE", 1):
            cron.method_direct_trigger()
        progress = self.env["ir.cron.progress"].search(
            [("cron_id", "=", cron.id)], order="id desc", limit=1
        )
        self.assertEqual((progress.done, progress.remaining), (1, 1))

    def test_a_reset_odoo_refuses_leaves_the_checkout_open(self):
        session = self.checkout_session()
        # A user who may only read the invoice, over RPC.
        auditor = new_test_user(
            self.env, login="auditor", groups="base.group_user,account.group_account_readonly"
        )
        with self.assertRaises(AccessError):
            self.invoice.with_user(auditor).button_draft()
        # The period of the invoice is closed: Odoo refuses the reset to draft.
        self.company.fiscalyear_lock_date = self.invoice.date
        with self.assertRaises(UserError):
            self.invoice.button_draft()
        self.assertEqual(self.stripe.session(session.stripe_session_id)["status"], "open")
        self.assertEqual(session.state, "open")
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_resetting_the_invoice_ends_its_open_checkout(self):
        session = self.checkout_session()
        self.invoice.button_draft()
        self.assertEqual(session.state, "expired")
        self.assertEqual(self.stripe.session(session.stripe_session_id)["status"], "expired")
