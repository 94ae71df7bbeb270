# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from lxml import etree
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, freeze_time, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from odoo.addons.mail.tests.common import MockEmail

from .. import utils
from .common import OTHER_IBAN, PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkSend(PayByLinkCommon, MockEmail):
    def page_url(self, token):
        return f"{self.invoice.get_base_url()}/paybylink/{token}"

    def test_wizard_defaults(self):
        wizard = self.open_send_wizard()
        self.assertEqual(wizard.amount, self.invoice.amount_total)
        self.assertEqual(wizard.currency_id, self.invoice.currency_id)
        self.assertEqual(wizard.partner_bank_id, self.company_iban)
        self.assertEqual(wizard.beneficiary_name, "Atelier Lumière")
        self.assertEqual(wizard.reference, self.invoice.payment_reference)
        self.assertEqual(wizard.email_to, "camille.martin@example.com")
        self.assertIn(self.page_url(wizard.token), wizard.body)

    def test_the_link_email_carries_the_invoice_unless_the_company_says_no(self):
        self.send_link()
        message = self.invoice.paybylink_last_message_id
        (attachment,) = message.attachment_ids
        self.assertEqual(attachment.name, self.invoice._get_invoice_report_filename())
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[5.0], post=True)
        self.company.paybylink_attach_invoice = False
        self.send_link(other)
        self.assertFalse(other.paybylink_last_message_id.attachment_ids)

    def test_wizard_speaks_the_customer_language(self):
        wizard = self.open_send_wizard()
        self.assertEqual(
            wizard.subject, f"Atelier Lumière\xa0: payer la facture {self.invoice.name}"
        )
        self.assertIn(f"Payer la facture {self.invoice.name}", wizard.body)
        self.customer.lang = "en_US"
        wizard = self.open_send_wizard()
        self.assertEqual(wizard.subject, f"Atelier Lumière: pay invoice {self.invoice.name}")

    def test_emails_say_an_overdue_invoice_was_due(self):
        due = self.invoice.invoice_date_due
        with freeze_time(due - timedelta(days=1)):
            body = self.open_send_wizard().body
            self.assertIn("est à régler au plus tard le", body)
            self.assertNotIn("était à régler", body)
        with freeze_time(due + timedelta(days=5)):
            self.invoice.invalidate_recordset(["paybylink_overdue"])  # a new day, a new request
            body = self.open_send_wizard().body
            self.assertIn("était à régler le", body)
            self.assertNotIn("au plus tard", body)
            self.send_link()
            self.invoice.action_paybylink_remind()
            reminder = self.invoice.paybylink_last_message_id.body
            self.assertIn("elle était à régler le", reminder)
            self.assertIn("Si votre règlement a croisé ce message", reminder)
            self.assertNotIn("it est", reminder)

    def test_email_links_to_the_help_page_unless_the_company_says_no(self):
        help_url = f"{self.invoice.get_base_url()}/paybylink/help"
        self.assertIn(help_url, self.open_send_wizard().body)
        self.company.paybylink_email_help_link = False
        self.assertNotIn(help_url, self.open_send_wizard().body)

    def test_wizard_offers_the_company_setting_bank_account(self):
        preferred = self.env["res.partner.bank"].create(
            {"acc_number": OTHER_IBAN, "partner_id": self.company.partner_id.id}
        )
        self.company.paybylink_partner_bank_id = preferred
        self.assertEqual(self.open_send_wizard().partner_bank_id, preferred)

    def test_wizard_takes_back_only_a_token_it_made_for_the_invoice(self):
        context = {"active_model": "account.move", "active_id": self.invoice.id}
        wizard = self.env["paybylink.send.wizard"].with_context(**context)
        shown = wizard.default_get(["move_id", "token", "token_proof"])
        for vals in (
            {"token": False},
            {"token": "guessable"},
            {"token": "A" * 43},
            {"token": "A" * 43, "token_proof": shown["token_proof"]},
            {"token": shown["token"]},
        ):
            with self.subTest(vals=vals):
                token = wizard.create(vals).token
                self.assertNotEqual(token, vals["token"], "a caller never chooses the token")
                self.assertTrue(utils.is_well_formed_token(token))
        # The form sends back the token its body shows, with its proof; for its invoice only.
        proven = {"token": shown["token"], "token_proof": shown["token_proof"]}
        self.assertEqual(wizard.create(proven).token, shown["token"])
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[50.0], post=True)
        self.assertNotEqual(wizard.create({**proven, "move_id": other.id}).token, shown["token"])

    def test_a_saved_form_written_again_takes_back_only_a_token_it_made(self):
        wizard = self.open_send_wizard()
        made = wizard.token
        for vals in (
            {"token": "A" * 43},
            {"token": "guessable", "token_proof": wizard.token_proof},
        ):
            with self.subTest(vals=vals):
                wizard.write(vals)
                self.assertNotEqual(wizard.token, vals["token"], "a caller never chooses it")
                self.assertTrue(utils.is_well_formed_token(wizard.token))
        wizard.write({"token": made, "token_proof": self.invoice._paybylink_token_proof(made)})
        self.assertEqual(wizard.token, made)
        wizard.action_send()
        self.assertEqual(self.invoice.paybylink_token, made)

    def test_the_form_filled_as_the_web_client_does_sends_the_link_it_shows(self):
        action = self.invoice.action_paybylink_send()
        form = Form(self.env[action["res_model"]].with_context(**action["context"]))
        shown_url = self.page_url(form.token)
        self.assertIn(shown_url, form.body)
        with self.mock_mail_gateway():
            form.save().action_send()
        self.assertEqual(self.invoice.paybylink_url, shown_url)
        self.assertIn(f'href="{shown_url}"', self._new_mails.body_html)

    def test_send_end_to_end(self):
        before = fields.Datetime.now()
        with self.mock_mail_gateway():
            wizard = self.send_link(beneficiary_name="Atelier Lumière SARL", reference="FACT 42")
        invoice = self.invoice
        url = self.page_url(wizard.token)

        self.assertEqual(invoice.paybylink_state, "not_opened")
        self.assertTrue(before <= invoice.paybylink_sent_at <= fields.Datetime.now())
        self.assertEqual(invoice.paybylink_token, wizard.token)
        self.assertEqual(invoice.paybylink_url, url)
        self.assertEqual(invoice.paybylink_amount, invoice.amount_total)
        self.assertEqual(invoice.paybylink_partner_bank_id, self.company_iban)
        self.assertEqual(invoice.paybylink_beneficiary_name, "Atelier Lumière SARL")
        self.assertEqual(invoice.paybylink_reference, "FACT 42")
        self.assertEqual(invoice.paybylink_email, "camille.martin@example.com")
        self.assertEqual((invoice.paybylink_open_count, invoice.paybylink_reminder_count), (0, 0))

        # One email, queued through mail.mail, to the customer, carrying the link.
        self.assertEqual(len(self._new_mails), 1)
        self.assertEqual(self._new_mails.recipient_ids, self.customer)
        self.assertIn(url, self._new_mails.body_html)
        self.assertEqual(self._new_mails.subject, wizard.subject)

        # The chatter keeps the email and the status change with its cause.
        message = invoice.paybylink_last_message_id
        self.assertEqual(message.subject, wizard.subject)
        self.assertEqual(message.partner_ids, self.customer)
        self.assertIn(url, message.body)
        self.assertIn(
            "Payment link status: Not opened. Payment link sent to camille.martin@example.com.",
            invoice.message_ids.mapped("preview"),
        )
        self.assertFalse(invoice.paybylink_mail_failure)

    def test_send_to_another_address_notifies_a_contact(self):
        with self.mock_mail_gateway():
            self.send_link(email_to="compta@martin.example.com; camille.martin@example.com")
        recipients = self.invoice.paybylink_last_message_id.partner_ids
        self.assertEqual(
            sorted(recipients.mapped("email")),
            ["camille.martin@example.com", "compta@martin.example.com"],
        )
        self.assertEqual(
            self.invoice.paybylink_email, "compta@martin.example.com, camille.martin@example.com"
        )

    def test_open_action_opens_the_customer_page(self):
        self.send_link()
        action = self.invoice.action_paybylink_open()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["url"], self.invoice.paybylink_url)
        self.assertEqual(action["target"], "new")

    def test_tokens_are_unique(self):
        second = self.init_invoice("out_invoice", partner=self.customer, amounts=[50.0], post=True)
        self.send_link()
        self.send_link(second)
        self.assertNotEqual(self.invoice.paybylink_token, second.paybylink_token)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            second.paybylink_link_id.sudo().token = self.invoice.paybylink_token
            second.paybylink_link_id.flush_recordset()

    def test_payment_marks_the_link_paid(self):
        self.send_link()
        self.pay()
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.assertIn(
            "Payment link status: Paid. The invoice is paid.",
            self.invoice.message_ids.mapped("preview"),
        )

    def test_payment_without_link_leaves_no_status(self):
        self.pay()
        self.assertFalse(self.invoice.paybylink_state)


@tagged("post_install", "-at_install")
class TestPaybylinkLists(PayByLinkCommon):
    """What the invoice list offers about links: opening several, and its filters."""

    def filter_domain(self, name):
        """The domain of the invoice search view's filter ``name``, evaluated as the web client
        does."""
        arch = self.env["account.move"].get_view(
            self.env.ref("account.view_account_invoice_filter").id, "search"
        )["arch"]
        (node,) = etree.fromstring(arch).xpath(f"//filter[@name='{name}']")
        return safe_eval(
            node.get("domain"),
            {
                "context_today": lambda: fields.Date.context_today(self.env.user),
                "relativedelta": relativedelta,
            },
        )

    def test_opening_the_links_of_a_selection_names_those_without_one(self):
        self.send_link()
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[5.0], post=True)
        action = (self.invoice | other).action_paybylink_open()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(other.name, action["params"]["message"])
        self.assertNotIn(self.invoice.name, action["params"]["message"])
        self.assertEqual(action["params"]["next"]["domain"], [("id", "in", self.invoice.ids)])
        with self.assertRaises(UserError):
            other.action_paybylink_open()

    def test_filters_show_what_they_say(self):
        self.send_link()
        by_odoo = self.init_invoice("out_invoice", partner=self.customer, amounts=[5.0], post=True)
        self.send_link(by_odoo)
        self.pay(by_odoo)  # Odoo's own "Pay": paid, not through the link
        moves = self.env["account.move"]
        self.assertIn(by_odoo, moves.search(self.filter_domain("paybylink_paid")))
        self.assertNotIn(by_odoo, moves.search(self.filter_domain("paybylink_paid_through_link")))
        chase = self.filter_domain("paybylink_transfer_to_chase")
        link = self.invoice.paybylink_link_id.sudo()
        link._declare_transfer()
        self.assertNotIn(self.invoice, moves.search(chase), "declared today: not late yet")
        link.transfer_declared_at = fields.Datetime.now() - timedelta(days=6)
        self.assertIn(self.invoice, moves.search(chase))

    def test_the_late_transfers_filter_lists_what_the_accountant_is_asked_about(self):
        # Declared 5 days and an hour ago, a day later in the calendar than 5 days back: the
        # accountant is asked to check, and the filter lists it.
        self.send_link()
        link = self.invoice.paybylink_link_id.sudo()
        with freeze_time("2026-12-01 01:00:00"):
            link._declare_transfer()
        moves = self.env["account.move"]
        chase = self.filter_domain("paybylink_transfer_to_chase")
        with freeze_time("2026-12-06 00:30:00"):
            self.assertFalse(link._chase_late_transfers())
            self.assertNotIn(self.invoice, moves.search(chase))
            self.assertFalse(self.invoice.paybylink_transfer_late)
        with freeze_time("2026-12-06 02:00:00"):
            self.invoice.invalidate_recordset(["paybylink_transfer_late"])
            self.assertIn(self.invoice, moves.search(chase))
            self.assertTrue(self.invoice.paybylink_transfer_late)
            self.assertNotIn(self.invoice, moves.search([("paybylink_transfer_late", "=", False)]))
            self.assertEqual(link._chase_late_transfers(), link)
