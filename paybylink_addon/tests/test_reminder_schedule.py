# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .common import PayByLinkCommon
from .smtp_sink import SmtpSink

# Invoices dated 1 December 2026 with 30 days to pay are due on 31 December; with the default
# steps (-3, +3, +10, +30 days) their reminders fall on 28 December, 3, 10 and 30 January.
INVOICE_DATE = "2026-12-01"


@tagged("post_install", "-at_install")
class TestPaybylinkReminderSchedule(PayByLinkCommon):
    """The reminder cron over weeks of time travel: when it reminds, and every case it never
    does."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "paybylink_reminder_days": "-3,3,10,30",
                "paybylink_reminder_max": 4,
                "paybylink_partner_bank_id": cls.company_iban.id,
            }
        )
        cls.thirty_days = cls.env.ref("account.account_payment_term_30days")

    def linked_invoice(self, partner=None):
        """A posted invoice due on 31 December whose link was sent on 1 December."""
        with freeze_time(f"{INVOICE_DATE} 09:00"):
            invoice = self.init_invoice(
                "out_invoice",
                partner=partner or self.customer,
                amounts=[100.0],
                invoice_date=INVOICE_DATE,
            )
            invoice.invoice_payment_term_id = self.thirty_days
            invoice.action_post()
            self.send_link(invoice)
        self.assertEqual(str(invoice.invoice_date_due), "2026-12-31")
        return invoice

    def run_cron(self, day, hour=8):
        with freeze_time(f"{day} {hour:02d}:00"):
            self.env.ref("paybylink_addon.ir_cron_paybylink_reminders").method_direct_trigger()

    def reminders(self, invoice):
        invoice.invalidate_recordset()
        return invoice.paybylink_reminder_count

    def test_an_invoice_in_dispute_gets_no_reminder(self):
        invoice = self.linked_invoice()
        invoice.action_toggle_block_payment()
        self.run_cron("2026-12-28")
        self.assertEqual(self.reminders(invoice), 0)
        with self.assertRaisesRegex(UserError, "in dispute"):
            invoice.action_paybylink_remind()
        invoice.action_toggle_block_payment()
        self.run_cron("2026-12-28", hour=9)
        self.assertEqual(self.reminders(invoice), 1, "unblocked, it is reminded again")

    def test_reminders_follow_the_steps_once_each(self):
        invoice = self.linked_invoice()
        expected = [
            ("2026-12-27", 0),  # before the first step
            ("2026-12-28", 1),  # 3 days before the due date
            ("2026-12-28", 1),  # the cron runs again the same day: nothing more
            ("2027-01-02", 1),
            ("2027-01-03", 2),  # 3 days after
            ("2027-02-15", 3),  # +10 and +30 were missed while the cron did not run: one only
            ("2027-02-16", 3),
        ]
        for day, count in expected:
            self.run_cron(day)
            self.assertEqual(self.reminders(invoice), count, day)
        self.assertEqual(str(invoice.paybylink_last_reminder_at.date()), "2027-02-15")
        reminder = invoice.paybylink_last_message_id
        self.assertIn(invoice.paybylink_url, reminder.body)
        self.assertIn("Rappel", reminder.subject, "in the customer's language, reminder wording")
        self.assertEqual(reminder.model, "account.move", "logged in the invoice's chatter")

    def test_stops_at_the_maximum(self):
        self.company.paybylink_reminder_max = 2
        invoice = self.linked_invoice()
        for day in ("2026-12-28", "2027-01-03", "2027-01-10", "2027-01-30"):
            self.run_cron(day)
        self.assertEqual(self.reminders(invoice), 2)

    def test_no_steps_no_reminders(self):
        self.company.paybylink_reminder_days = False
        invoice = self.linked_invoice()
        self.run_cron("2027-01-03")
        self.assertEqual(self.reminders(invoice), 0)

    def test_never_a_paid_invoice_even_paid_a_minute_ago(self):
        invoice = self.linked_invoice()
        with freeze_time("2026-12-28 07:59"):
            self.pay(invoice)
        self.run_cron("2026-12-28")
        self.assertEqual(self.reminders(invoice), 0)
        self.assertEqual(invoice.paybylink_state, "paid")

    def test_never_a_cancelled_or_draft_invoice_or_a_revoked_link(self):
        cancelled, draft = self.linked_invoice(), self.linked_invoice()
        cancelled.button_cancel()
        draft.button_draft()
        self.run_cron("2026-12-28")
        self.assertEqual((self.reminders(cancelled), self.reminders(draft)), (0, 0))

    def test_not_while_a_payment_is_in_progress_unless_asked(self):
        invoice = self.linked_invoice()
        invoice.paybylink_link_id.sudo()._declare_transfer()
        self.run_cron("2026-12-28")
        self.assertEqual(self.reminders(invoice), 0)
        self.company.paybylink_reminder_in_progress = True
        self.run_cron("2026-12-29")
        self.assertEqual(self.reminders(invoice), 1)

    def test_not_for_an_invoice_or_a_customer_that_said_no(self):
        switched_off = self.linked_invoice()
        switched_off.paybylink_no_reminder = True
        company_customer = self.env["res.partner"].create(
            {"name": "Verrerie", "is_company": True, "paybylink_no_reminder": True}
        )
        contact = self.env["res.partner"].create(
            {"name": "Jo", "email": "jo@verrerie.example", "parent_id": company_customer.id}
        )
        self.assertTrue(contact.paybylink_no_reminder, "contacts follow their company")
        of_that_customer = self.linked_invoice(contact)
        self.run_cron("2026-12-28")
        self.assertEqual((self.reminders(switched_off), self.reminders(of_that_customer)), (0, 0))

    def test_not_once_the_link_expired(self):
        self.company.paybylink_validity_days = 20
        invoice = self.linked_invoice()
        self.run_cron("2026-12-28")
        self.assertEqual(self.reminders(invoice), 0)

    def test_a_crash_loses_and_doubles_no_reminder(self):
        first, second = self.linked_invoice(), self.linked_invoice()
        send_reminder = type(self.env["account.move"])._paybylink_send_reminder

        def crash_on_second(move, **kwargs):
            if move == second:
                raise RuntimeError("the worker was killed")
            return send_reminder(move, **kwargs)

        # The crash aborts the cron's transaction, as it would in production.
        with (
            patch.object(
                type(self.env["account.move"]), "_paybylink_send_reminder", crash_on_second
            ),
            self.assertRaisesRegex(Exception, "the worker was killed"),
            self.env.cr.savepoint(),
        ):
            self.run_cron("2026-12-28")
        self.assertEqual((self.reminders(first), self.reminders(second)), (0, 0))
        self.run_cron("2026-12-28", hour=9)
        self.assertEqual((self.reminders(first), self.reminders(second)), (1, 1))
        self.run_cron("2026-12-28", hour=10)
        self.assertEqual((self.reminders(first), self.reminders(second)), (1, 1))

    @mute_logger("odoo.addons.mail.models.mail_mail")
    def test_a_reminder_the_mail_server_refused_is_sent_again_once_it_is_back(self):
        invoice = self.linked_invoice()
        self.use_smtp_port(self.closed_port())
        self.run_cron("2026-12-28")
        self.process_mail_queue()
        invoice.invalidate_recordset()
        self.assertTrue(invoice.paybylink_mail_failure)
        with SmtpSink() as sink:
            self.use_smtp_port(sink.port)
            self.run_cron("2026-12-28", hour=9)  # not twice the same day
            self.run_cron("2026-12-29")
            self.run_cron("2026-12-30")
            self.process_mail_queue()
        self.assertEqual(len(sink.messages), 1, "sent again once, and only once")
        self.assertIn(invoice.paybylink_url, sink.messages[0].get_body(("plain",)).get_content())
        invoice.invalidate_recordset()
        self.assertFalse(invoice.paybylink_mail_failure)

    def test_deciding_costs_a_bounded_number_of_queries(self):
        for _ in range(3):
            self.linked_invoice()
        with freeze_time("2026-12-28 08:00"), self.assertQueryCount(1):
            due = self.env["account.move"]._paybylink_due_for_reminder(
                self.company, fields.Date.today()
            )
        self.assertEqual(len(due), 3)
