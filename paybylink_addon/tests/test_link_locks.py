# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import re
import socket
import threading
import time
from unittest.mock import patch

import psycopg2
import requests

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.paybylink_addon import const, utils

from .common import (
    cancel_linked_invoice,
    configure_stripe,
    post_invoice_in_main_company,
    send_link_in_main_company,
    start_stripe_standin,
)

from stripe_standin import sign


class CommittedHttpCase(HttpCase):
    """Unlike most tests, these commit, and the server answers from its own transactions (no
    test cursor): real concurrency needs data other transactions see. They use the database's
    main company and leave cancelled invoices there."""

    registry_test_mode = False

    def in_transaction(self, function):
        """Run ``function(env)`` in a transaction of its own, then commit it."""
        with self.registry.cursor() as cr:
            return function(api.Environment(cr, SUPERUSER_ID, {}))

    def invoice_rows_held(self, invoice_id):
        """The tables of the invoice's rows (its links, itself) that another transaction holds
        now: no one else could lock them."""
        held = []
        with self.registry.cursor() as cr:
            for table, column in (("paybylink_link", "move_id"), ("account_move", "id")):
                try:
                    with cr.savepoint(flush=False):
                        cr.execute(
                            SQL(
                                "SELECT id FROM %s WHERE %s = %s FOR NO KEY UPDATE NOWAIT",
                                SQL.identifier(table),
                                SQL.identifier(column),
                                invoice_id,
                            )
                        )
                except psycopg2.errors.LockNotAvailable:
                    held.append(table)
            cr.rollback()
        return held

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


@tagged("post_install", "-at_install")
class TestPaybylinkLinkLocks(CommittedHttpCase):
    """What one transaction holds on a link does not stop the others: the page answers and the
    other invoices are reminded."""

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

    def test_a_view_holds_no_row_a_status_change_or_its_company_needs(self):
        # A view's transaction still open: the link takes its status changes, and the company
        # (every view of every link of it) is free, even for a lock that conflicts with the
        # foreign key checks a view's row would make on it.
        token = self.invoice_values("paybylink_token")[0]
        link_id, company_id = self.in_transaction(
            lambda env: [
                env["account.move"].browse(self.invoice_ids[0]).paybylink_link_id.id,
                env["account.move"].browse(self.invoice_ids[0]).company_id.id,
            ]
        )
        held = {}

        def view(env):
            held["view"] = env["paybylink.link"]._page_view(token, count_view=True)

        with self.held_transaction(view), self.registry.cursor() as cr:
            for table, row_id, lock in (
                ("paybylink_link", link_id, "FOR NO KEY UPDATE"),
                ("res_company", company_id, "FOR UPDATE"),
            ):
                with self.subTest(table=table), cr.savepoint(flush=False):
                    cr.execute(
                        SQL(
                            "SELECT id FROM %s WHERE id = %s %s NOWAIT",
                            SQL.identifier(table),
                            row_id,
                            SQL(lock),
                        ),
                    )
                    self.assertEqual(cr.fetchall(), [(row_id,)])
        self.assertTrue(held["view"].visit_id, "the view was counted, and held")

    def test_sending_makes_the_invoice_pdf_before_it_locks_the_invoice(self):
        # wkhtmltopdf takes about a second, which a payment of the invoice would wait for.
        invoice_id = self.in_transaction(lambda env: post_invoice_in_main_company(env).id)
        self.addCleanup(self.in_transaction, lambda env: cancel_linked_invoice(env, invoice_id))
        reports = type(self.env["ir.actions.report"])
        render = reports._render_qweb_pdf
        held = []

        def look_then_render(report, report_ref, res_ids=None, data=None):
            held.append(self.invoice_rows_held(invoice_id))
            return render(report, report_ref, res_ids=res_ids, data=data)

        def send(env):
            invoice = env["account.move"].browse(invoice_id)
            action = invoice.action_paybylink_send()
            env[action["res_model"]].with_context(**action["context"]).create({}).action_send()
            return invoice.paybylink_link_id.last_message_id.attachment_ids.mapped("mimetype")

        with patch.object(reports, "_render_qweb_pdf", look_then_render):
            attached = self.in_transaction(send)
        self.assertEqual(attached, ["application/pdf"])
        self.assertEqual(held, [[]], "made once, holding nothing")

        token = self.invoice_values("paybylink_token")[0]
        first = {}

        def view_then_commit():
            # A first view whose transaction is still rendering when the page's comes: that
            # one waits for this commit, then Odoo runs it again, as a later view.
            with self.registry.cursor() as cr:
                links = api.Environment(cr, SUPERUSER_ID, {})["paybylink.link"]
                first["view"] = links._page_view(token, count_view=True)
                time.sleep(1)  # then committed, leaving the block

        thread = threading.Thread(target=view_then_commit)
        thread.start()
        time.sleep(0.3)
        # Expected and run again: no "bad query" error in the log for the administrator.
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
            response = self.url_open(f"/paybylink/{token}", timeout=10)
        thread.join(10)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(first["view"].first_view)
        self.assertEqual(self.invoice_values("paybylink_open_count"), [2, 0])
        self.assertNotIn(
            "The customer opened the payment link for the first time.",
            self.in_transaction(
                lambda env: (
                    env["account.move"].browse(self.invoice_ids[0]).message_ids.mapped("preview")
                )
            ),
            "the page's view came second",
        )

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


@tagged("post_install", "-at_install")
class TestPaybylinkCheckoutLocks(CommittedHttpCase):
    """ "Pay online" calls Stripe holding no lock: a slow Stripe keeps no one else waiting, and
    customers pressing at once get one Checkout Session."""

    secret_key = "sk_test_checkout_locks"
    webhook_secret = "whsec_checkout_locks"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe = start_stripe_standin(cls)
        cls.stripe.add_account(cls.secret_key, webhook_secret=cls.webhook_secret)

    def setUp(self):
        super().setUp()
        self.invoice_id, token = self.in_transaction(self.send_link_paid_online)
        self.page = f"/paybylink/{token}"
        self.addCleanup(self.in_transaction, self.cancel_invoice)
        self.addCleanup(self.stripe.set_latency, 0)
        self.stripe.clear_requests()

    def send_link_paid_online(self, env):
        invoice = send_link_in_main_company(env)
        configure_stripe(invoice.company_id, self.stripe, self.secret_key, self.webhook_secret)
        return invoice.id, invoice.paybylink_token

    def cancel_invoice(self, env):
        cancel_linked_invoice(env, self.invoice_id)

    def customer(self, page=None):
        """A browser on the page (this invoice's unless given): its session and the page's CSRF
        token."""
        browser = requests.Session()
        html = browser.get(self.base_url() + (page or self.page), timeout=10).text
        return browser, re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def post(self, path, customer):
        """Post the page's form at ``path`` (its box ticked, for the transfer's)."""
        browser, csrf_token = customer
        return browser.post(
            self.base_url() + path,
            data={"csrf_token": csrf_token, "confirmed": "1"},
            allow_redirects=False,
            timeout=30,
        )

    def pay_online(self):
        """The customer presses "Pay online" and pays on Stripe's page (no event sent yet).

        :return: the session's id, Stripe's id of it and the attempt's reference
        """
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)
        session = self.in_transaction(
            lambda env: (
                env["account.move"]
                .browse(self.invoice_id)
                .paybylink_stripe_session_ids[:1]
                .read(["stripe_session_id", "attempt_ref"])[0]
            )
        )
        self.stripe.complete(session["stripe_session_id"])
        return session["id"], session["stripe_session_id"], session["attempt_ref"]

    def in_threads(self, *functions):
        """Run the functions at once, each in a thread; return their results in order."""
        results = [None] * len(functions)

        def run(index):
            results[index] = functions[index]()

        threads = [threading.Thread(target=run, args=(index,)) for index in range(len(functions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    @contextlib.contextmanager
    def rows_held_at_stripe_calls(self):
        """Note, as each Stripe call arrives, which rows of the invoice (its links, itself) the
        caller holds then: no one else could lock them. Yields the list of ``(call, tables)``,
        ``call`` being ``create``, ``read`` or ``expire``."""
        calls = []

        def look(method, path):
            held = self.invoice_rows_held(self.invoice_id)
            if path.endswith("/expire"):
                calls.append(("expire", held))
            else:
                calls.append(("create" if method == "POST" else "read", held))

        self.stripe.set_call_hook(look)
        try:
            yield calls
        finally:
            self.stripe.set_call_hook(None)

    def links(self):
        """The invoice's links, oldest first: whether each works, why it stopped, its status."""
        return self.in_transaction(
            lambda env: (
                env["paybylink.link"]
                .with_context(active_test=False)
                .search([("move_id", "=", self.invoice_id)], order="id")
                .mapped(lambda link: (link.active, link.stop_reason, link.state))
            )
        )

    def invoice_state(self):
        return self.in_transaction(
            lambda env: env["account.move"].browse(self.invoice_id).paybylink_state
        )

    def sessions(self):
        """The states of the Stripe sessions of the invoice's links, oldest first."""
        return self.in_transaction(
            lambda env: (
                env["paybylink.stripe.session"]
                .search([("link_id.move_id", "=", self.invoice_id)], order="id")
                .mapped("state")
            )
        )

    @mute_logger("odoo.sql_db")
    def test_paying_online_again_ends_the_old_session_then_starts_one_holding_no_lock(self):
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)
        # The open session is too close to its end to be offered again.
        self.in_transaction(
            lambda env: env.cr.execute(
                """UPDATE paybylink_stripe_session SET expires_at = now() AT TIME ZONE 'UTC'
                    WHERE link_id IN (SELECT id FROM paybylink_link WHERE move_id = %s)""",
                [self.invoice_id],
            )
        )
        with self.rows_held_at_stripe_calls() as calls:
            response = self.post(f"{self.page}/checkout", self.customer())
        self.assertEqual(response.status_code, 303)
        self.assertEqual(calls, [("expire", []), ("create", [])])
        self.assertEqual(self.sessions(), ["expired", "open"])
        self.assertEqual(self.invoice_state(), "in_progress")

    @mute_logger("odoo.sql_db")
    def test_a_customer_back_without_paying_ends_the_session_holding_no_lock(self):
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)
        attempt_ref = self.in_transaction(
            lambda env: (
                env["account.move"].browse(self.invoice_id).paybylink_stripe_session_ids.attempt_ref
            )
        )
        with self.rows_held_at_stripe_calls() as calls:
            response = requests.get(
                f"{self.base_url()}{self.page}?attempt={attempt_ref}", timeout=30
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(calls, [("read", []), ("expire", [])])
        self.assertEqual(self.sessions(), ["expired"])
        self.assertEqual(self.invoice_state(), "interrupted")

    @mute_logger("odoo.sql_db")
    def test_resetting_to_draft_ends_the_online_payment_before_locking_anything(self):
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)
        with self.rows_held_at_stripe_calls() as calls:
            self.in_transaction(
                lambda env: env["account.move"].browse(self.invoice_id).button_draft()
            )
        self.assertEqual(calls, [("expire", [])])
        self.assertEqual(self.sessions(), ["expired"])
        self.assertEqual([link[:2] for link in self.links()], [(False, "draft")])

    @mute_logger("odoo.sql_db", "odoo.addons.paybylink_addon.models.paybylink_link")
    def test_a_reset_stripe_cannot_answer_asks_it_holding_no_lock_and_leaves_it_to_the_cron(self):
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)
        self.stripe.set_outage(503)
        self.addCleanup(self.stripe.set_outage, None)
        with self.rows_held_at_stripe_calls() as calls:
            self.in_transaction(
                lambda env: env["account.move"].browse(self.invoice_id).button_draft()
            )
        self.assertTrue(calls)
        self.assertEqual({call for call, _held in calls}, {"expire"})
        self.assertEqual([held for _call, held in calls if held], [], "asked holding no lock")
        self.assertEqual(self.sessions(), ["open"], "Stripe could not end it")
        # Stripe back, the poll cron ends the attempt of the stopped link.
        self.stripe.set_outage(None)
        self.in_transaction(
            lambda env: env.cr.execute(
                """UPDATE paybylink_stripe_session SET create_date = '2000-01-01',
                          synced_at = NULL, polled_at = NULL
                    WHERE link_id IN (SELECT id FROM paybylink_link WHERE move_id = %s)""",
                [self.invoice_id],
            )
        )
        self.in_transaction(
            lambda env: env["paybylink.stripe.session"]._cron_paybylink_poll_stripe()
        )
        self.assertEqual(self.sessions(), ["expired"])
        stripe_id = self.in_transaction(
            lambda env: (
                env["paybylink.stripe.session"]
                .search([("link_id.move_id", "=", self.invoice_id)])
                .stripe_session_id
            )
        )
        self.assertEqual(self.stripe.session(stripe_id)["status"], "expired")

    @mute_logger("odoo.sql_db")
    def test_a_new_link_asked_from_an_expired_one_ends_its_payment_holding_no_lock(self):
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)

        def expire_link(env):
            company = env.ref("base.main_company")
            validity = company.paybylink_validity_days
            company.paybylink_validity_days = 5
            env.cr.execute(
                "UPDATE paybylink_link SET sent_at = sent_at - INTERVAL '6 days' "
                "WHERE move_id = %s",
                [self.invoice_id],
            )
            return validity

        validity = self.in_transaction(expire_link)
        self.addCleanup(
            self.in_transaction,
            lambda env: env.ref("base.main_company").write({"paybylink_validity_days": validity}),
        )
        browser = requests.Session()
        html = browser.get(self.base_url() + self.page, timeout=10).text
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        with self.rows_held_at_stripe_calls() as calls:
            response = browser.post(
                f"{self.base_url()}{self.page}/renew",
                data={"csrf_token": csrf_token},
                timeout=60,
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(calls, [("expire", [])])
        self.assertEqual(self.sessions(), ["expired"])
        self.assertEqual(
            self.links(), [(False, "expired", "interrupted"), (True, False, "not_opened")]
        )

    def test_a_slow_stripe_keeps_neither_the_page_nor_a_transfer_waiting(self):
        paying, declaring = self.customer(), self.customer()
        self.stripe.set_latency(3)
        timings = {}

        def meanwhile():
            time.sleep(1)  # "Pay online" is waiting for Stripe by now
            for name, call in (
                ("page", lambda: requests.get(self.base_url() + self.page, timeout=10)),
                ("transfer", lambda: self.post(f"{self.page}/transfer", declaring)),
            ):
                started = time.monotonic()
                timings[name] = (call().status_code, time.monotonic() - started)

        self.in_threads(lambda: self.post(f"{self.page}/checkout", paying), meanwhile)
        self.assertEqual(timings["page"][0], 200)
        self.assertEqual(timings["transfer"][0], 303)
        self.assertLess(timings["page"][1], 1.0, "the page does not wait for Stripe")
        self.assertLess(timings["transfer"][1], 1.0, "the transfer does not wait for Stripe")
        self.assertEqual(self.invoice_state(), "in_progress")

    @mute_logger("odoo.addons.paybylink_addon.models.paybylink_link")
    def test_a_stripe_that_never_answers_ends_the_checkout_after_its_timeout(self):
        # A server that takes connections (the kernel's backlog does) and never answers.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        self.addCleanup(silent.close)
        self.in_transaction(
            lambda env: (
                env["account.move"]
                .browse(self.invoice_id)
                .company_id.write(
                    {"paybylink_stripe_api_base": f"http://127.0.0.1:{silent.getsockname()[1]}"}
                )
            )
        )
        paying = self.customer()
        timings = {}

        def timed(name, call):
            started = time.monotonic()
            timings[name] = (call(), time.monotonic() - started)

        def meanwhile():
            time.sleep(0.5)  # "Pay online" is waiting for Stripe by now
            timed("page", lambda: requests.get(self.base_url() + self.page, timeout=10))

        # The client's own timeout and retries, shortened so that the test waits seconds.
        with (
            patch.object(const, "STRIPE_TIMEOUT", 1),
            patch.object(const, "STRIPE_MAX_NETWORK_RETRIES", 1),
        ):
            self.in_threads(
                lambda: timed("checkout", lambda: self.post(f"{self.page}/checkout", paying)),
                meanwhile,
            )
        checkout, took = timings["checkout"]
        self.assertEqual(checkout.status_code, 200)
        self.assertIn(
            "Online payment is unavailable at the moment; nothing was charged.", checkout.text
        )
        self.assertIn('name="confirmed"', checkout.text, "the transfer is still offered")
        self.assertGreater(took, 2, "two tries of a second each")
        self.assertLess(took, 8)
        page, page_took = timings["page"]
        self.assertEqual(page.status_code, 200)
        self.assertLess(page_took, 1.0, "the page does not wait for Stripe")
        sessions, state = self.in_transaction(
            lambda env: (
                env["account.move"].browse(self.invoice_id).paybylink_stripe_session_ids.ids,
                env["account.move"].browse(self.invoice_id).paybylink_state,
            )
        )
        self.assertEqual(sessions, [], "no attempt recorded")
        self.assertEqual(state, "not_opened")

    @mute_logger("odoo.sql_db")
    def test_the_poll_cron_holds_no_lock_while_stripe_answers_of_the_next_session(self):
        # Two sessions due for a poll, this invoice's first.
        other_invoice_id, other_token = self.in_transaction(self.send_link_paid_online)
        self.addCleanup(
            self.in_transaction, lambda env: cancel_linked_invoice(env, other_invoice_id)
        )
        for page in (self.page, f"/paybylink/{other_token}"):
            self.assertEqual(self.post(f"{page}/checkout", self.customer(page)).status_code, 303)

        def age(env):
            env.cr.execute(
                """UPDATE paybylink_stripe_session
                      SET create_date = %s::timestamp + link_id * INTERVAL '1 s',
                          synced_at = NULL, polled_at = NULL
                    WHERE link_id IN (SELECT id FROM paybylink_link WHERE move_id IN %s)""",
                ("2000-01-01", (self.invoice_id, other_invoice_id)),
            )
            return env["account.move"].browse(self.invoice_id).paybylink_link_id.id

        link_id = self.in_transaction(age)
        self.stripe.set_latency(1.5)
        held = {}

        def meanwhile():
            time.sleep(2.5)  # the first session applied, the second one asked of Stripe
            with self.registry.cursor() as cr:
                try:
                    cr.execute(
                        "SELECT id FROM paybylink_link WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                        [link_id],
                    )
                    held["link"] = False
                except psycopg2.errors.LockNotAvailable:
                    held["link"] = True
                cr.rollback()

        # As in production (tests never commit): the cron commits.
        with patch.object(utils, "can_commit", lambda: True):
            self.in_threads(
                lambda: self.in_transaction(
                    lambda env: env["paybylink.stripe.session"]._cron_paybylink_poll_stripe()
                ),
                meanwhile,
            )
        self.assertIs(held["link"], False, "the first session's link is free by then")

    def test_a_session_changed_while_it_is_polled_leaves_the_cron_running(self):
        # A session due for a poll; as Stripe is asked, its webhook changes it and commits.
        self.assertEqual(self.post(f"{self.page}/checkout", self.customer()).status_code, 303)

        def age(env):
            env.cr.execute(
                """UPDATE paybylink_stripe_session
                      SET create_date = '2000-01-01', synced_at = NULL, polled_at = NULL
                    WHERE link_id IN (SELECT id FROM paybylink_link WHERE move_id = %s)
                RETURNING id""",
                [self.invoice_id],
            )
            return env.cr.fetchone()[0]

        session_id = self.in_transaction(age)

        def webhook_meanwhile(method, path):
            with self.registry.cursor() as cr:
                cr.execute(
                    "UPDATE paybylink_stripe_session SET synced_at = now() WHERE id = %s",
                    [session_id],
                )

        self.stripe.set_call_hook(webhook_meanwhile)
        self.addCleanup(self.stripe.set_call_hook, None)
        # As in production (tests never commit): the cron commits.
        with patch.object(utils, "can_commit", lambda: True):
            self.in_transaction(
                lambda env: env["paybylink.stripe.session"]._cron_paybylink_poll_stripe()
            )
        polled = self.in_transaction(
            lambda env: (
                env["paybylink.stripe.session"]
                .browse(session_id)
                .read(["state", "poll_error", "synced_at"])[0]
            )
        )
        self.assertEqual(polled["state"], "open")
        self.assertFalse(polled["poll_error"])
        self.assertTrue(polled["synced_at"], "the webhook's change is kept")

    @mute_logger("odoo.sql_db", "odoo.addons.paybylink_addon.models.paybylink_stripe_event")
    def test_an_event_for_a_session_held_elsewhere_is_put_off_not_a_500(self):
        session_id, stripe_id, _attempt_ref = self.pay_online()
        payload = self.stripe.make_event(stripe_id, "checkout.session.completed")

        def hold_session(env):
            env.cr.execute(
                "SELECT id FROM paybylink_stripe_session WHERE id = %s FOR NO KEY UPDATE",
                [session_id],
            )

        with self.held_transaction(hold_session):
            response = requests.post(
                f"{self.base_url()}/paybylink/stripe/webhook",
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": sign(payload, self.webhook_secret),
                },
                timeout=60,
            )
        self.assertEqual(response.status_code, 503, "Stripe sends it again later")
        self.assertEqual(
            self.in_transaction(
                lambda env: env["account.move"].browse(self.invoice_id).payment_state
            ),
            "not_paid",
        )

    def test_presses_at_once_make_one_checkout_session(self):
        customers = [self.customer() for _press in range(3)]
        self.stripe.set_latency(1)
        responses = self.in_threads(
            *(
                lambda customer=customer: self.post(f"{self.page}/checkout", customer)
                for customer in customers
            )
        )
        self.assertEqual([response.status_code for response in responses], [303] * 3)
        self.assertEqual(len({response.headers["Location"] for response in responses}), 1)
        sessions = self.in_transaction(
            lambda env: (
                env["account.move"]
                .browse(self.invoice_id)
                .paybylink_stripe_session_ids.mapped("stripe_session_id")
            )
        )
        self.assertEqual(len(sessions), 1, "one session recorded")
        created = {
            request["headers"].get("Idempotency-Key")
            for request in self.stripe.requests
            if request["path"] == "/v1/checkout/sessions" and request["method"] == "POST"
        }
        self.assertEqual(len(created), 1, "one attempt asked of Stripe, whoever asked")

    def deadlocks(self):
        return self.in_transaction(
            lambda env: (
                env.cr.execute(
                    "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
                )
                or env.cr.fetchone()[0]
            )
        )

    def test_twenty_events_and_returns_at_once_pay_once_without_deadlock_or_500(self):
        _session_id, stripe_id, attempt_ref = self.pay_online()
        webhook_url = f"{self.base_url()}/paybylink/stripe/webhook"

        def deliver():
            payload = self.stripe.make_event(stripe_id, "checkout.session.completed")
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload, self.webhook_secret),
            }
            return requests.post(webhook_url, data=payload, headers=headers, timeout=60)

        def come_back():
            url = f"{self.base_url()}{self.page}?attempt={attempt_ref}"
            return requests.get(url, timeout=60)

        deadlocks_before = self.deadlocks()
        responses = self.in_threads(*([deliver] * 10 + [come_back] * 10))
        statuses = [response.status_code for response in responses]
        self.assertTrue(all(200 <= status < 500 for status in statuses), statuses)
        self.assertEqual(self.deadlocks(), deadlocks_before, "no deadlock")

        def check(env):
            invoice = env["account.move"].browse(self.invoice_id)
            self.assertEqual(invoice.payment_state, "paid")
            self.assertEqual(invoice.paybylink_state, "paid")
            self.assertEqual(len(invoice.paybylink_stripe_session_ids.payment_id), 1)
            payments = env["account.payment"].search([("partner_id", "=", invoice.partner_id.id)])
            self.assertEqual(len(payments), 1, "one payment")

        self.in_transaction(check)
