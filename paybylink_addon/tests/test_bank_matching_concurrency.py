# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged

from odoo.addons.paybylink_addon import const, utils

from .common import send_link_in_main_company


@tagged("post_install", "-at_install")
class TestPaybylinkBankMatchingRace(BaseCase):
    """The cron and the invoice's button match bank lines at the same time, each in its own
    database transaction, as in production: what one of them holds, the other leaves alone
    without waiting for it, and nothing is reconciled twice.

    Unlike the other tests, this one commits: real concurrency needs data other transactions
    see. It uses the database's main company and leaves a cancelled invoice there.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def in_transaction(self, function):
        """Run ``function(env)`` in a transaction of its own, then commit it."""
        with self.registry.cursor() as cr:
            return function(api.Environment(cr, SUPERUSER_ID, {}))

    def setUp(self):
        super().setUp()
        self.other_invoice_ids = []
        self.invoice_id, self.line_ids = self.in_transaction(self.create_invoice_and_first_line)
        self.addCleanup(self.in_transaction, self.remove_invoice_and_lines)

    def create_invoice_and_first_line(self, env):
        invoice = send_link_in_main_company(env)
        return invoice.id, self.create_line(env, invoice, "first").ids

    def create_line(self, env, invoice, label):
        """A bank line paying the whole of ``invoice``."""
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", invoice.company_id.id)], limit=1
        )
        return env["account.bank.statement.line"].create(
            {
                "journal_id": journal.id,
                "amount": invoice.amount_total,
                "payment_ref": f"VIR {invoice.paybylink_reference} {label}",
            }
        )

    def test_a_run_holding_a_line_keeps_other_runs_off_but_not_rows_referencing_it(self):
        (line_id,) = self.line_ids
        with self.registry.cursor() as holder_cr, self.registry.cursor() as other_cr:
            lines = api.Environment(holder_cr, SUPERUSER_ID, {})["account.bank.statement.line"]
            company = lines.env.ref("base.main_company")
            self.assertIn(line_id, lines._paybylink_candidate_lines(company, 0, 100).ids)
            # A row referencing the line (Odoo's own entries, by foreign key) takes FOR KEY
            # SHARE: a FOR UPDATE would make it wait, FOR NO KEY UPDATE does not.
            other_cr.execute(
                "SELECT id FROM account_bank_statement_line WHERE id = %s FOR KEY SHARE NOWAIT",
                [line_id],
            )
            self.assertEqual(other_cr.fetchall(), [(line_id,)])
            # Another run skips it.
            other = api.Environment(other_cr, SUPERUSER_ID, {})["account.bank.statement.line"]
            self.assertNotIn(line_id, other._paybylink_candidate_lines(company, 0, 100).ids)
            holder_cr.rollback()
            other_cr.rollback()

    def remove_invoice_and_lines(self, env):
        lines = env["account.bank.statement.line"].browse(self.line_ids)
        lines.action_undo_reconciliation()
        lines.unlink()
        env["account.move"].browse([self.invoice_id, *self.other_invoice_ids]).button_cancel()

    def test_the_cron_commits_batch_after_batch_and_ends_its_run(self):
        def two_more(env):
            for label in ("second", "third"):
                invoice = send_link_in_main_company(env)
                self.other_invoice_ids.append(invoice.id)
                self.line_ids += self.create_line(env, invoice, label).ids

        self.in_transaction(two_more)
        # As in production (tests never commit): each batch, of one line here, is committed.
        with (
            patch.object(utils, "can_commit", lambda: True),
            patch.object(const, "BANK_MATCH_BATCH_SIZE", 1),
            self.assertNoLogs("odoo.addons.paybylink_addon.models.account_move", "ERROR"),
        ):
            self.in_transaction(lambda env: env["account.move"]._cron_paybylink_reconcile())
        states = self.in_transaction(
            lambda env: (
                env["account.move"]
                .browse([self.invoice_id, *self.other_invoice_ids])
                .mapped("paybylink_state")
            )
        )
        self.assertEqual(states, ["paid"] * 3)

    def test_two_runs_at_once_reconcile_each_line_and_invoice_once(self):
        first_done, second_done, results = threading.Event(), threading.Event(), {}

        def first_run():
            # The cron: reconciles, then keeps its transaction, and its locks, open until the
            # button's run is over.
            def match(env):
                lines = env["account.bank.statement.line"]
                company = env.ref("base.main_company")
                results["first"] = lines._paybylink_reconcile_company(company).ids
                first_done.set()
                results["second_did_not_wait"] = second_done.wait(20)

            self.in_transaction(match)

        def second_run():
            first_done.wait(20)
            # Meanwhile the customer's second payment of the invoice comes from the bank.
            self.line_ids += self.in_transaction(
                lambda env: self.create_line(env, env["account.move"].browse(self.invoice_id), "2")
            ).ids

            def press_button(env):
                invoice = env["account.move"].browse(self.invoice_id)
                results["second"] = invoice.action_paybylink_match_bank_lines()

            self.in_transaction(press_button)
            second_done.set()

        threads = [threading.Thread(target=first_run), threading.Thread(target=second_run)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # The first run held the first line and the invoice; the second found the first line
        # locked, and the second line's invoice locked, and skipped both without waiting.
        self.assertTrue(results["second_did_not_wait"])
        self.assertEqual(results["first"], self.line_ids[:1])
        self.assertEqual(results["second"]["params"]["message"], "0 bank lines reconciled.")

        def check(env):
            invoice = env["account.move"].browse(self.invoice_id)
            first, second = env["account.bank.statement.line"].browse(self.line_ids)
            self.assertEqual(invoice.payment_state, "paid")
            self.assertEqual(invoice.paybylink_state, "paid")
            self.assertEqual(len(first.move_id.line_ids.matched_debit_ids), 1)
            self.assertTrue(first.is_reconciled)
            self.assertFalse(second.is_reconciled)
            # The invoice is paid now: a later run leaves the second payment to the accountant.
            self.assertFalse(
                env["account.bank.statement.line"]._paybylink_reconcile_company(invoice.company_id)
            )

        self.in_transaction(check)
