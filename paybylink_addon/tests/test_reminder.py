# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from odoo.addons.mail.tests.common import MockEmail

from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkReminder(PayByLinkCommon, MockEmail):
    def test_reminder_mails_the_link_again_and_counts_it(self):
        self.send_link(email_to="compta@martin.example.com")
        sent_at, url = self.invoice.paybylink_sent_at, self.invoice.paybylink_url
        before = fields.Datetime.now()
        with self.mock_mail_gateway():
            self.invoice.action_paybylink_remind()
        self.assertEqual(self.invoice.paybylink_reminder_count, 1)
        self.assertTrue(before <= self.invoice.paybylink_last_reminder_at)
        # A reminder is not a new link: same token, same send date, same status.
        self.assertEqual(self.invoice.paybylink_url, url)
        self.assertEqual(self.invoice.paybylink_sent_at, sent_at)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")

        self.assertEqual(len(self._new_mails), 1)
        self.assertEqual(self._new_mails.recipient_ids.email, "compta@martin.example.com")
        self.assertIn(url, self._new_mails.body_html)
        # In the customer's language, with the reminder's wording.
        self.assertEqual(
            self._new_mails.subject,
            f"Rappel\xa0: la facture {self.invoice.name} (Atelier Lumière) reste à payer",
        )
        self.assertEqual(self.invoice.paybylink_last_message_id.subject, self._new_mails.subject)

        self.invoice.action_paybylink_remind()
        self.assertEqual(self.invoice.paybylink_reminder_count, 2)

    def test_link_fields_leave_the_accounting_alone(self):
        self.send_link()  # Odoo's email layout gives the invoice its portal token: a write
        self.invoice.is_manually_modified = False
        self.invoice.action_paybylink_remind()
        self.invoice.paybylink_link_id.sudo()._declare_transfer()
        self.assertFalse(self.invoice.is_manually_modified)
        self.assertEqual(self.invoice.paybylink_reminder_count, 1)

    def test_no_reminder_without_a_link(self):
        with self.assertRaisesRegex(UserError, "No payment link was sent"):
            self.invoice.action_paybylink_remind()
        self.assertEqual(self.invoice.paybylink_reminder_count, 0)

    def test_no_reminder_once_paid(self):
        self.send_link()
        self.pay()
        messages_before = self.invoice.message_ids
        with self.assertRaisesRegex(UserError, "already paid"):
            self.invoice.action_paybylink_remind()
        self.assertEqual(self.invoice.paybylink_reminder_count, 0)
        self.assertEqual(self.invoice.message_ids, messages_before)

    def test_a_refused_reminder_renders_nothing(self):
        # Refused before the email is made: the reason shows, whatever the template does.
        self.send_link()
        self.pay()
        template = self.env.ref("paybylink_addon.mail_template_paybylink_reminder")
        for lang in ("en_US", "fr_FR"):
            template.with_context(
                lang=lang
            ).body_html = '<p t-out="object.paybylink_no_such_field"/>'
        with self.assertRaisesRegex(UserError, "already paid"):
            self.invoice.action_paybylink_remind()

    def test_reminders_from_the_list_skip_what_cannot_be_reminded(self):
        paid, unsent = (
            self.init_invoice("out_invoice", partner=self.customer, amounts=[50.0], post=True)
            for _ in range(2)
        )
        self.send_link()
        self.send_link(paid)
        self.pay(paid)
        with self.mock_mail_gateway():
            action = (self.invoice | paid | unsent).action_paybylink_remind()
        self.assertEqual(len(self._new_mails), 1)
        self.assertEqual(self.invoice.paybylink_reminder_count, 1)
        self.assertEqual((paid.paybylink_reminder_count, unsent.paybylink_reminder_count), (0, 0))
        message = action["params"]["message"]
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn(paid.name, message)
        self.assertIn(unsent.name, message)
        with self.assertRaisesRegex(UserError, "already paid"):
            paid.action_paybylink_remind()

    def test_links_of_several_invoices_are_listed_to_copy(self):
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[50.0], post=True)
        self.send_link()
        self.send_link(other)
        action = (self.invoice | other).action_paybylink_open()
        self.assertEqual(action["res_model"], "account.move")
        self.assertEqual(action["domain"], [("id", "in", (self.invoice | other).ids)])
        view = self.env["ir.ui.view"].browse(action["views"][0][0])
        self.assertIn('name="paybylink_url"', view.arch)
        self.assertEqual(self.invoice.action_paybylink_open()["url"], self.invoice.paybylink_url)
        with self.assertRaisesRegex(UserError, "No payment link was sent"):
            self.init_invoice("out_invoice", amounts=[1.0]).action_paybylink_open()

    def test_the_reminder_is_shown_and_edited_before_it_goes(self):
        self.send_link()
        action = self.invoice.action_paybylink_remind_preview()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        form = Form(wizard)
        self.assertIn(self.invoice.paybylink_url, form.body)
        self.assertIn("Rappel", form.subject)
        self.assertFalse(wizard.reminded_today)
        form.subject = "Votre facture, encore"
        form.body = form.body.replace("Bonjour", "Chère cliente")
        with self.mock_mail_gateway():
            form.save().action_send()
        self.assertEqual(self.invoice.paybylink_reminder_count, 1)
        self.assertEqual(self._new_mails.subject, "Votre facture, encore")
        self.assertIn("Chère cliente", self._new_mails.body_html)
        # A second one the same day: the form says so before it goes.
        action = self.invoice.action_paybylink_remind_preview()
        self.assertTrue(self.env[action["res_model"]].browse(action["res_id"]).reminded_today)

    def test_an_edited_reminder_keeps_its_link(self):
        self.send_link()
        action = self.invoice.action_paybylink_remind_preview()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.body = "<p>Please pay.</p>"
        with self.assertRaisesRegex(UserError, "must contain the payment link"):
            wizard.action_send()
        self.assertEqual(self.invoice.paybylink_reminder_count, 0)
