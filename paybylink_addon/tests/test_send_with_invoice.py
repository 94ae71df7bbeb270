# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from urllib.parse import urlsplit

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from odoo.addons.mail.tests.common import MockEmail

from .. import utils
from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkSendWithInvoice(PayByLinkCommon, MockEmail):
    """ "Add a payment link" in Odoo's own Send form, for one invoice and for a batch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.paybylink_partner_bank_id = cls.company_iban

    def open_send_form(self, invoice=None):
        action = (invoice or self.invoice).action_send_and_print()
        return self.env[action["res_model"]].with_context(**action["context"]).create({})

    def send_form(self, wizard):
        with self.mock_mail_gateway():
            wizard.action_send_and_print()
        return self._new_mails

    def test_option_is_offered_for_email_and_follows_the_company_setting(self):
        wizard = self.open_send_form()
        self.assertTrue(wizard.paybylink_offered)
        self.assertFalse(wizard.paybylink_add)
        self.company.paybylink_send_with_invoice = True
        wizard = self.open_send_form()
        self.assertTrue(wizard.paybylink_add)
        # Pre-filled as in "Send payment link".
        self.assertEqual(wizard.paybylink_amount, self.invoice.amount_total)
        self.assertEqual(wizard.paybylink_partner_bank_id, self.company_iban)
        self.assertEqual(wizard.paybylink_beneficiary_name, "Atelier Lumière")
        self.assertEqual(wizard.paybylink_reference, self.invoice.payment_reference)
        # Only while sending by email.
        wizard.sending_method_checkboxes = {
            method: {**checkbox, "checked": method == "manual"}
            for method, checkbox in wizard.sending_method_checkboxes.items()
        }
        self.assertFalse(wizard.paybylink_offered)

    def test_invoice_email_carries_the_link_which_counts_as_sent(self):
        wizard = self.open_send_form()
        wizard.paybylink_add = True
        url = wizard._paybylink_url()
        self.assertIn(url, wizard.mail_body, "the form shows the link the email will carry")
        self.assertIn("Payer la facture", wizard.mail_body, "in the customer's language")
        mails = self.send_form(wizard)
        self.assertEqual(len(mails), 1, "one email: the invoice and its link")
        self.assertIn(f'href="{url}"', mails.body_html)
        self.assertTrue(mails.attachment_ids, "the invoice is attached as usual")
        invoice = self.invoice
        self.assertTrue(invoice.is_move_sent)
        self.assertEqual(invoice.paybylink_url, url)
        self.assertEqual(invoice.paybylink_state, "not_opened")
        self.assertTrue(invoice.paybylink_sent_at)
        self.assertEqual(invoice.paybylink_amount, invoice.amount_total)
        self.assertEqual(invoice.paybylink_partner_bank_id, self.company_iban)
        self.assertEqual(invoice.paybylink_email, "camille.martin@example.com")
        self.assertEqual(invoice.paybylink_last_message_id, mails.mail_message_id)
        self.assertIn("Payment link sent with the invoice", invoice.message_ids[0].body)
        # Sent: the option is no longer offered, as "Send payment link" refuses a second link.
        self.assertFalse(self.open_send_form().paybylink_offered)

    def assert_one_working_link(self, body, url):
        """``body`` gives the link ``url`` (as a button and as text) and no other, in one block."""
        self.assertEqual(set(utils.PAGE_PATH_RE.findall(body)), {urlsplit(url).path})
        self.assertEqual(body.count("Payer la facture"), 1, "one payment block")
        link, _sent = self.env["paybylink.link"]._find_by_token(url.rsplit("/", 1)[1])
        self.assertEqual(link.move_id, self.invoice, "the link works")

    def test_the_form_filled_as_the_web_client_does_sends_the_link_it_shows(self):
        # Form sends back what the web client sends: the fields the user may edit, and those
        # the view saves (force_save), nothing else.
        self.company.paybylink_send_with_invoice = True
        action = self.invoice.action_send_and_print()
        form = Form(self.env[action["res_model"]].with_context(**action["context"]))
        self.assertTrue(form.paybylink_add)
        shown_url = utils.build_page_url(self.invoice.get_base_url(), form.paybylink_token)
        self.assertIn(shown_url, form.mail_body, "the preview shows the link")
        wizard = form.save()
        mails = self.send_form(wizard)
        self.assertEqual(self.invoice.paybylink_url, shown_url, "the link shown is the one saved")
        self.assert_one_working_link(mails.body_html, shown_url)

    def test_a_body_with_another_page_link_goes_out_with_the_links_own(self):
        # A caller that keeps a body it was shown but not its token (an integrator's script):
        # the body's link becomes the one sent, never a second block beside a dead link.
        stale_body = self.open_send_form().with_context(lang="fr_FR")
        stale_body.paybylink_add = True
        stale_body = stale_body.mail_body
        action = self.invoice.action_send_and_print()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"paybylink_add": True, "mail_body": stale_body})
        )
        mails = self.send_form(wizard)
        self.assert_one_working_link(mails.body_html, self.invoice.paybylink_url)

    def test_without_the_option_no_link(self):
        mails = self.send_form(self.open_send_form())
        self.assertEqual(len(mails), 1)
        self.assertNotIn("/paybylink/", mails.body_html)
        self.assertFalse(self.invoice.paybylink_state)

    def test_same_refusals_as_send_payment_link(self):
        wizard = self.open_send_form()
        wizard.paybylink_add = True
        for field, value, reason in (
            ("paybylink_partner_bank_id", self.env["res.partner.bank"], "Choose the company bank"),
            ("paybylink_beneficiary_name", "B" * 71, "at most 70 characters"),
            ("paybylink_reference", " ", "Enter the reference"),
        ):
            with self.subTest(field=field):
                defaults = {
                    "paybylink_partner_bank_id": self.company_iban,
                    "paybylink_beneficiary_name": "Atelier Lumière",
                    "paybylink_reference": "INV 1",
                }
                wizard.write({**defaults, field: value})
                self.assertEqual(wizard.alerts["paybylink_refused"]["level"], "danger")
                with self.assertRaisesRegex(UserError, reason):
                    self.send_form(wizard)
                self.assertFalse(self.invoice.paybylink_state)
                self.assertFalse(self.invoice.is_move_sent, "nothing sent on refusal")

    def test_batch_sends_one_link_per_invoice_and_lists_those_that_cannot(self):
        self.company.paybylink_send_with_invoice = True
        partly_paid = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[300.0], post=True
        )
        self.pay(partly_paid, amount=100.0)
        already_linked = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[200.0], post=True
        )
        self.send_link(already_linked)
        old_url = already_linked.paybylink_url
        in_dispute = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[50.0], post=True
        )
        in_dispute.action_toggle_block_payment()
        invoices = self.invoice | partly_paid | already_linked | in_dispute
        wizard = (
            self.env["account.move.send.batch.wizard"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create({})
        )
        alert = wizard.alerts["paybylink_refused"]
        self.assertEqual(alert["level"], "warning", "the others still go")
        self.assertIn(in_dispute.name, alert["message"])
        self.assertIn("in dispute", alert["message"])
        self.assertNotIn(self.invoice.name, alert["message"])
        self.assertNotIn(partly_paid.name, alert["message"], "a link for what remains due")
        with self.mock_mail_gateway():
            wizard.action_send_and_print(force_synchronous=True)
        self.assertEqual(len(self._new_mails), 4, "one email per invoice")
        (linked_mail,) = self._new_mails.filtered(lambda mail: self.invoice.name in mail.subject)
        self.assertIn(self.invoice.paybylink_url, linked_mail.body_html)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.assertEqual(partly_paid.paybylink_state, "not_opened")
        self.assertEqual(partly_paid.paybylink_amount, partly_paid.amount_residual)
        self.assertFalse(in_dispute.paybylink_state)
        self.assertTrue(in_dispute.is_move_sent, "sent without its link")
        notes = "\n".join(in_dispute.message_ids.mapped("body"))
        self.assertIn("sent without a payment link", notes)
        self.assertEqual(already_linked.paybylink_url, old_url, "its link is kept")
        self.assertEqual(already_linked.paybylink_state, "not_opened")
