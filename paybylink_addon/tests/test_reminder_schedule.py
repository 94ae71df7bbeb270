# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, freeze_time, get_db_name, tagged
from odoo.tools import mute_logger

from .. import const
from .common import PayByLinkCommon, send_link_in_main_company

from smtp_sink import SmtpSink

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

    def test_an_unexpected_failure_on_one_invoice_leaves_the_others_reminded(self):
        broken, fine = self.linked_invoice(), self.linked_invoice()
        send_reminder = type(broken)._paybylink_send_reminder

        def fail_for_broken(move, *args, **kwargs):
            if move == broken:
                raise ValueError("a record Odoo cannot render")
            return send_reminder(move, *args, **kwargs)

        def failure_notes():
            return broken.message_ids.filtered(
                lambda message: "could not be sent" in (message.body or "")
            )

        with (
            patch.object(type(broken), "_paybylink_send_reminder", fail_for_broken),
            mute_logger("odoo.addons.paybylink_addon.models.account_move"),
        ):
            self.run_cron("2026-12-28")
            self.assertEqual((self.reminders(broken), self.reminders(fine)), (0, 1))
            self.assertTrue(self.env.ref("paybylink_addon.ir_cron_paybylink_reminders").active)
            self.assertIn("a record Odoo cannot render", failure_notes().body)
            link = broken.paybylink_link_id
            self.assertEqual(str(link.reminder_failed_at.date()), "2026-12-28")
            # Left for the day, tried again the next: the same failure is not noted twice.
            self.run_cron("2026-12-28", hour=9)
            self.run_cron("2026-12-29")
            self.assertEqual(str(link.reminder_failed_at.date()), "2026-12-29")
            self.assertEqual(len(failure_notes()), 1)
        self.run_cron("2026-12-30")
        self.assertEqual(self.reminders(broken), 1)
        self.assertFalse(link.reminder_failed_at or link.reminder_error)

    def test_a_full_batch_tells_odoo_to_call_again(self):
        invoices = self.linked_invoice() | self.linked_invoice() | self.linked_invoice()
        cron = self.env.ref("paybylink_addon.ir_cron_paybylink_reminders")
        with patch.object(const, "REMINDER_BATCH_SIZE", 2):
            self.run_cron("2026-12-28")
        progress = self.env["ir.cron.progress"].search(
            [("cron_id", "=", cron.id)], order="id desc", limit=1
        )
        self.assertEqual((progress.done, progress.remaining), (2, 1))
        self.assertEqual(sorted(self.reminders(invoice) for invoice in invoices), [0, 1, 1])
        with patch.object(const, "REMINDER_BATCH_SIZE", 2):
            self.run_cron("2026-12-28")
        progress = self.env["ir.cron.progress"].search(
            [("cron_id", "=", cron.id)], order="id desc", limit=1
        )
        self.assertEqual((progress.done, progress.remaining), (1, 0))
        self.assertEqual([self.reminders(invoice) for invoice in invoices], [1, 1, 1])

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


class WorkerKilled(BaseException):
    """What no ``except Exception`` catches: the worker's process ends here."""


@tagged("post_install", "-at_install")
class TestPaybylinkReminderCrash(BaseCase):
    """A worker dies in the middle of the reminder cron: what it committed stays, what it did
    not is done by the next run, and nobody is reminded twice.

    Unlike most tests, this one commits, batch by batch as the cron does in production. It
    uses the database's main company and leaves cancelled invoices there.
    """

    def in_transaction(self, function):
        with Registry(get_db_name()).cursor() as cr:
            return function(api.Environment(cr, SUPERUSER_ID, {}))

    def setUp(self):
        super().setUp()
        self.invoice_ids = self.in_transaction(self.send_two_links)
        self.addCleanup(self.in_transaction, self.clean_up)

    def send_two_links(self, env):
        company = env.ref("base.main_company")
        self.settings = company.read(["paybylink_reminder_days", "paybylink_reminder_max"])[0]
        company.write({"paybylink_reminder_days": "3", "paybylink_reminder_max": 4})
        return [send_link_in_main_company(env).id for _invoice in range(2)]

    def clean_up(self, env):
        env["mail.mail"].search(
            [("model", "=", "account.move"), ("res_id", "in", self.invoice_ids)]
        ).unlink()
        env["account.move"].browse(self.invoice_ids).button_cancel()
        env.ref("base.main_company").write(
            {
                key: self.settings[key]
                for key in ("paybylink_reminder_days", "paybylink_reminder_max")
            }
        )

    def run_cron(self):
        """The cron as Odoo's cron worker runs it, three days after the due date, one invoice a
        call: Odoo commits each call's progress and calls again while some are due."""
        due = self.in_transaction(
            lambda env: env["account.move"].browse(self.invoice_ids[0]).invoice_date_due
        )
        cron_id = self.in_transaction(self.make_reminder_cron_ready)
        registry = Registry(get_db_name())
        database = sql_db.db_connect(get_db_name())
        with (
            freeze_time(f"{due + timedelta(days=3)} 08:00"),
            patch.object(const, "REMINDER_BATCH_SIZE", 1),
            database.cursor() as cron_cr,
        ):
            job = registry["ir.cron"]._acquire_one_job(cron_cr, cron_id)
            registry["ir.cron"]._process_job(database, cron_cr, job)

    def make_reminder_cron_ready(self, env):
        cron = env.ref("paybylink_addon.ir_cron_paybylink_reminders")
        env.cr.execute(
            "UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' - interval '1 day'"
            " WHERE id = %s",
            [cron.id],
        )
        return cron.id

    def reminders(self):
        return self.in_transaction(
            lambda env: (
                env["account.move"].browse(self.invoice_ids).mapped("paybylink_reminder_count")
            )
        )

    def test_a_crash_loses_and_doubles_no_reminder(self):
        account_move = Registry(get_db_name())["account.move"]
        send_reminder = account_move._paybylink_send_reminder

        def killed_on_second(move, *args, **kwargs):
            if move.id == self.invoice_ids[1]:
                raise WorkerKilled
            return send_reminder(move, *args, **kwargs)

        with (
            patch.object(account_move, "_paybylink_send_reminder", killed_on_second),
            self.assertRaises(WorkerKilled),
        ):
            self.run_cron()
        self.assertEqual(self.reminders(), [1, 0], "the first batch was committed")
        self.run_cron()
        self.assertEqual(self.reminders(), [1, 1], "the next run does the rest, once")
        self.run_cron()
        self.assertEqual(self.reminders(), [1, 1])
