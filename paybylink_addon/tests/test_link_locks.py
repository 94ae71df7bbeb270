# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, tagged

from .common import send_link_in_main_company


@tagged("post_install", "-at_install")
class TestPaybylinkLinkLocks(HttpCase):
    """What one transaction holds on a link does not stop the others: the page answers and the
    other invoices are reminded.

    Unlike most tests, these commit, and the server answers from its own transactions (no test
    cursor): real concurrency needs data other transactions see. They use the database's main
    company and leave cancelled invoices there.
    """

    registry_test_mode = False

    def in_transaction(self, function):
        """Run ``function(env)`` in a transaction of its own, then commit it."""
        with self.registry.cursor() as cr:
            return function(api.Environment(cr, SUPERUSER_ID, {}))

    @contextlib.contextmanager
    def held_transaction(self, function):
        """Run ``function(env)`` in another thread's transaction, and keep that transaction,
        with its locks, open (then roll it back) for the duration of the ``with`` block."""
        ready, release, errors = threading.Event(), threading.Event(), []

        def hold():
            with self.registry.cursor() as cr:
                try:
                    function(api.Environment(cr, SUPERUSER_ID, {}))
                except Exception as error:
                    errors.append(error)
                ready.set()
                release.wait(30)
                cr.rollback()

        thread = threading.Thread(target=hold)
        thread.start()
        ready.wait(30)
        try:
            self.assertFalse(errors, "the other transaction ran")
            yield
        finally:
            release.set()
            thread.join(30)

    def setUp(self):
        super().setUp()
        self.invoice_ids = self.in_transaction(
            lambda env: [send_link_in_main_company(env).id for _invoice in range(2)]
        )
        self.addCleanup(self.in_transaction, self.cancel_invoices)

    def cancel_invoices(self, env):
        invoices = env["account.move"].browse(self.invoice_ids)
        invoices.line_ids.remove_move_reconcile()
        invoices.button_cancel()

    def invoice_values(self, field):
        return self.in_transaction(
            lambda env: env["account.move"].browse(self.invoice_ids).mapped(field)
        )

    def test_the_page_answers_and_counts_while_a_payment_holds_the_link_and_invoice(self):
        token = self.invoice_values("paybylink_token")[0]

        def pay(env):
            # The customer declared the transfer and the accountant registers it: both hold
            # the link and the invoice until they commit.
            invoice = env["account.move"].browse(self.invoice_ids[0])
            invoice.paybylink_link_id._declare_transfer()
            env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({})._create_payments()
            env.flush_all()

        with self.held_transaction(pay):
            started = time.monotonic()
            response = self.url_open(f"/paybylink/{token}", timeout=10)
            elapsed = time.monotonic() - started
        self.assertEqual(response.status_code, 200)
        self.assertLess(elapsed, 1.0, "the page waits for no payment")
        self.assertEqual(self.invoice_values("paybylink_open_count"), [1, 0], "the view counts")
        self.assertEqual(self.invoice_values("paybylink_state"), ["not_opened"] * 2)

    def test_reminders_go_to_the_others_when_one_link_is_held_elsewhere(self):
        def hold_second_link(env):
            env["account.move"].browse(self.invoice_ids[1]).paybylink_link_id._lock()

        with self.held_transaction(hold_second_link):
            started = time.monotonic()
            result = self.in_transaction(
                lambda env: (
                    env["account.move"].browse(self.invoice_ids).action_paybylink_remind()["params"]
                )
            )
            elapsed = time.monotonic() - started
        self.assertLess(elapsed, 5.0, "no waiting for the held link")
        second_name = self.invoice_values("name")[1]
        self.assertEqual(result["type"], "warning")
        self.assertIn("1 reminders sent.", result["message"])
        self.assertIn(f"{second_name} was not reminded", result["message"])
        # Committed: the first is reminded, the second not.
        self.assertEqual(self.invoice_values("paybylink_reminder_count"), [1, 0])
