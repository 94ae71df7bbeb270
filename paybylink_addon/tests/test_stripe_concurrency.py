# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged

from .common import (
    cancel_linked_invoice,
    configure_stripe,
    send_link_in_main_company,
    start_stripe_standin,
)

from stripe_standin import sign

SECRET_KEY = "sk_test_race"
WEBHOOK_SECRET = "whsec_race"


@tagged("post_install", "-at_install")
class TestPaybylinkStripeEventRace(BaseCase):
    """Two Odoo workers receive the same Stripe event at the same time, each in its own database
    transaction, as in production: one registers the payment, the other finds it done.

    Unlike the other tests, this one commits: real concurrency needs data other transactions
    see. It uses the database's main company and leaves a cancelled invoice and payment there.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.stripe = start_stripe_standin(cls)
        cls.stripe.add_account(SECRET_KEY)

    def run_in_transaction(self, function):
        """Run ``function(env)`` in a transaction of its own, committed, retried as Odoo's
        workers retry a request that hit a concurrent update."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return retrying(lambda: function(env), env)

    def setUp(self):
        super().setUp()
        self.invoice_id, self.session_id = self.run_in_transaction(self.create_linked_invoice)
        self.addCleanup(self.run_in_transaction, self.cancel_invoice)

    def create_linked_invoice(self, env):
        invoice = send_link_in_main_company(env)
        configure_stripe(invoice.company_id, self.stripe, SECRET_KEY, WEBHOOK_SECRET)
        session = env["paybylink.stripe.session"]._paybylink_create_checkout(
            invoice.paybylink_link_id
        )
        self.stripe.complete(session.stripe_session_id)
        return invoice.id, session.id

    def cancel_invoice(self, env):
        cancel_linked_invoice(env, self.invoice_id)

    def test_the_same_event_in_two_transactions_pays_once(self):
        with self.registry.cursor() as cr:
            session = api.Environment(cr, SUPERUSER_ID, {})["paybylink.stripe.session"].browse(
                self.session_id
            )
            payload = self.stripe.make_event(
                session.stripe_session_id, "checkout.session.completed"
            )
        signature = sign(payload, WEBHOOK_SECRET)
        first_done, results, second_tries = threading.Event(), {}, []

        def process(env):
            return env["paybylink.stripe.event"]._paybylink_process_webhook(
                payload.encode(), signature
            )

        def first_worker():
            # Handles the event, then keeps its transaction open while the second one starts.
            def handle(env):
                answer = process(env)
                first_done.set()
                threading.Event().wait(1.0)
                return answer

            results["first"] = self.run_in_transaction(handle)

        def second_worker():
            first_done.wait(10)
            results["second"] = self.run_in_transaction(
                lambda env: second_tries.append(1) or process(env)
            )

        threads = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(results["first"], (200, "handled"))
        self.assertEqual(results["second"], (200, "duplicate: already handled"))
        # The second waited for the first, then was retried on the serialization failure.
        self.assertEqual(len(second_tries), 2)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            invoice = env["account.move"].browse(self.invoice_id)
            self.assertEqual(invoice.payment_state, "paid")
            self.assertEqual(invoice.paybylink_state, "paid")
            payments = env["account.payment"].search([("partner_id", "=", invoice.partner_id.id)])
            self.assertEqual(len(payments), 1)
            events = env["paybylink.stripe.event"].search([("session_id", "=", self.session_id)])
            self.assertEqual(len(events), 1)
