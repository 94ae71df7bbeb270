# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import re
import secrets
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from .common import PayByLinkPageCommon, visible_text

NOT_FOUND = "This payment link does not work"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


# A 1x1 PNG: a logo of the company's own.
PNG_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@tagged("post_install", "-at_install")
class TestPaybylinkPage(PayByLinkPageCommon, HttpCase):
    """The customer's page, over HTTP, as a visitor without an account sees it."""

    def get(self, path, allow_redirects=False, **headers):
        return self.url_open(path, headers=headers, allow_redirects=allow_redirects)

    def assertCustomerPage(self, response, status=200):
        self.assertEqual(response.status_code, status)
        for header, value in PAGE_HEADERS.items():
            self.assertEqual(response.headers.get(header), value)

    def declare_transfer(self, csrf_token=None):
        """Post the page's "I have made the transfer" form, with its CSRF token unless given."""
        form = self.get(self.page).text
        if csrf_token is None:
            csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        return self.url_open(
            f"{self.page}/transfer",
            data={"csrf_token": csrf_token, "confirmed": "1"},
            allow_redirects=False,
        )

    def test_page_shows_what_the_customer_needs_to_pay(self):
        response = self.get(self.page)
        self.assertCustomerPage(response)
        html = response.text
        self.assertIn("FR76 3000 6000 0112 3456 7890 189", visible_text(html), "grouped by four")
        for group in ("FR76", "3000", "189"):  # a line breaks between groups, never inside
            self.assertIn(f'<span class="nowrap">{group}</span>', html)
        for expected in (
            self.invoice.name,
            "Atelier Lumière",  # beneficiary and company
            'data-copy="FR7630006000011234567890189"',  # copied without spaces
            f'data-copy="{self.invoice.paybylink_reference}"',
            "AGRIFRPP",
            self.invoice.paybylink_reference,
            "1\xa0234,50",  # the amount, as French customers write it
            "<svg",  # the SEPA QR code, inline
            f'href="{self.page}/invoice.pdf"',
            'href="/paybylink/help"',
            f'action="{self.page}/transfer"',
        ):
            self.assertIn(expected, html)
        # The copy buttons are the only script, inline; they are hidden until it shows them.
        self.assertEqual(len(re.findall(r"<script", html)), 1)
        self.assertNotRegex(html, r"<script[^>]*src=", "no external script")
        self.assertEqual(
            len(re.findall(r'<button type="button" class="copy" hidden="hidden"', html)), 2
        )
        self.assertNotRegex(html, r'(src|href)="https?://', "no external asset")
        # Billed to, and the invoice's lines in short.
        self.assertIn("Camille Martin", visible_text(html))
        self.assertIn("test line", visible_text(html))
        # No logo was set: no "Your logo" placeholder.
        self.assertNotIn("/web/binary/company_logo", html)

    def test_page_is_in_the_customer_language(self):
        self.assertIn('lang="fr-FR"', self.get(self.page).text)
        self.assertIn("Payer par virement", self.get(self.page).text)
        self.customer.lang = "en_US"
        self.assertIn("Pay by bank transfer", self.get(self.page).text)

    def test_each_view_is_recorded_without_changing_the_status(self):
        self.assertEqual(self.invoice.paybylink_open_count, 0)
        self.get(self.page)
        self.get(self.page)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 2)
        self.assertTrue(self.invoice.paybylink_opened_at)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")

    def test_concurrent_views_are_all_counted(self):
        self.get(self.page)  # a running server has its caches filled
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: self.get(self.page).status_code, range(16)))
        self.assertEqual(statuses, [200] * 16)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 17)

    def test_the_accountant_opening_the_link_is_not_a_view(self):
        self.authenticate(self.env.user.login, self.env.user.login)
        self.assertCustomerPage(self.get(self.page))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 0)

    def request(self, method, path):
        return self.opener.request(
            method, f"{self.base_url()}{path}", allow_redirects=False, timeout=12
        )

    def test_only_their_methods_reach_the_routes_and_only_a_get_is_a_view(self):
        # Odoo would run every handler for OPTIONS, without its CSRF check, and HEAD as GET.
        routes = {
            self.page: ("GET", "HEAD"),
            f"{self.page}/invoice.pdf": ("GET", "HEAD"),
            "/paybylink/help": ("GET", "HEAD"),
            f"{self.page}/transfer": ("POST",),
            f"{self.page}/transfer/undo": ("POST",),
            f"{self.page}/checkout": ("POST",),
            f"{self.page}/renew": ("POST",),
            "/paybylink/stripe/webhook": ("POST",),
        }
        for path, allowed in routes.items():
            for method in {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} - set(
                allowed
            ):
                with self.subTest(path=path, method=method):
                    response = self.request(method, path)
                    # OPTIONS reaches the route, the others stop at Odoo's routing: both
                    # answers name the same methods.
                    self.assertCustomerPage(response, 405)
                    self.assertEqual(set(response.headers["Allow"].split(", ")), set(allowed))
        self.assertCustomerPage(self.request("HEAD", self.page))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 0, "no view counted but GET's")
        self.assertEqual(self.invoice.paybylink_state, "not_opened", "no transfer declared")
        self.assertFalse(self.invoice.paybylink_transfer_declared_at)
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)

    def test_page_costs_a_bounded_number_of_queries(self):
        self.get(self.page)  # fill Odoo's caches, as any running server has them
        # Something the page shows changed: it is rendered again.
        self.company.phone = "+33 1 23 45 67 89"
        self.env.flush_all()
        with self.assertQueryCount(6):
            self.assertIn("+33 1 23 45 67 89", self.get(self.page).text)
        # Nothing changed: the page as this worker rendered it, the view counted all the same,
        # in one statement (no user read: the route needs none for it).
        with self.assertQueryCount(1):
            self.assertCustomerPage(self.get(self.page))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 3)
        # A declared transfer, which the page offers to take back: no more.
        self.assertCustomerPage(self.declare_transfer(), 303)
        self.env.flush_all()
        with self.assertQueryCount(6):
            self.assertIn(f"{self.page}/transfer/undo", self.get(self.page).text)

    def test_a_view_reads_none_of_the_other_links_views(self):
        # An older link's many views fill the table before this link's first one: a view of
        # this link reads none of them, whatever plan PostgreSQL makes. With few links and many
        # views its estimates make it scan the table; here it can use no index for a plan.
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.send_link(other)
        self.env.cr.execute(
            """INSERT INTO paybylink_visit (link_id, visited_at)
               SELECT %s, now() AT TIME ZONE 'UTC' FROM generate_series(1, 20000)""",
            [other.paybylink_link_id.id],
        )
        self.env.cr.execute("SET LOCAL enable_indexscan = off")
        self.env.cr.execute("SET LOCAL enable_bitmapscan = off")
        link = self.invoice.paybylink_link_id

        def rows_read(token):
            query = "SELECT pg_stat_get_xact_tuples_returned('paybylink_visit'::regclass)"
            self.env.cr.execute(query)
            before = self.env.cr.fetchone()[0]
            view = link._page_view(token, count_view=True)
            self.env.cr.execute(query)
            return view, self.env.cr.fetchone()[0] - before

        for first_view in (True, False):
            view, read = rows_read(link.token)
            self.assertEqual(view.first_view, first_view)
            self.assertEqual(read, 0, "no other link's views read")
        self.assertEqual(link.open_count, 2)

    def test_pages_are_rendered_on_every_view_with_no_page_kept(self):
        parameters = self.env["ir.config_parameter"].sudo()
        for value, queries in (("0", 6), ("20", 1)):
            with self.subTest(page_cache_size=value):
                parameters.set_param("paybylink.page_cache_size", value)
                self.get(self.page)
                with self.assertQueryCount(queries):
                    self.assertCustomerPage(self.get(self.page))
        # A value that is no number: the default, and a warning for the administrator.
        parameters.set_param("paybylink.page_cache_size", "many")
        with self.assertLogs("odoo.addons.paybylink_addon.models.paybylink_link", "WARNING"):
            self.get(self.page)
        with self.assertQueryCount(1):
            self.assertCustomerPage(self.get(self.page))

    def test_a_page_rendered_before_serves_each_visitor_with_their_own_csrf_token(self):
        first = self.get(self.page).text
        self.opener.cookies.clear()  # another visitor
        again = self.get(self.page).text
        tokens = [re.findall(r'name="csrf_token" value="([^"]+)"', html) for html in (first, again)]
        self.assertTrue(tokens[1])
        self.assertNotEqual(tokens[0][0], tokens[1][0])
        self.assertEqual(len(set(tokens[1])), 1, "one token, filled in every form")
        self.assertEqual(
            re.sub(r'value="[^"]+o\d+"', "", first), re.sub(r'value="[^"]+o\d+"', "", again)
        )
        response = self.url_open(
            f"{self.page}/transfer",
            data={"csrf_token": tokens[1][0], "confirmed": "1"},
            allow_redirects=False,
        )
        self.assertCustomerPage(response, 303)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        self.assertIn("Merci de nous avoir indiqué", self.get(self.page).text, "rendered again")

    def test_a_page_rendered_before_follows_its_invoice_and_its_template(self):
        self.assertIn("1\xa0234,50", self.get(self.page).text)
        self.pay(amount=200)
        self.assertIn("1\xa0034,50", self.get(self.page).text, "what remains due")
        # A template changed (a module updated, a view edited): Odoo's template caches, and
        # the pages rendered with them, are dropped.
        view = self.env.ref("paybylink_addon.paybylink_company_contact")
        view.arch_db = view.arch_db.replace("<p>", '<p class="contact-changed">', 1)
        self.assertIn("contact-changed", self.get(self.page).text)

    def test_a_page_rendered_before_expires_with_its_link(self):
        self.company.paybylink_validity_days = 5
        self.assertCustomerPage(self.get(self.page))
        sent_at = self.invoice.paybylink_link_id.sent_at
        with freeze_time(sent_at + timedelta(days=5, seconds=1)):
            response = self.get(self.page)
        self.assertCustomerPage(response, 404)
        self.assertIn("Atelier Lumière", response.text)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 1, "an expired page is no view")

    def test_a_first_view_after_the_accountant_opened_the_page_is_noted(self):
        self.authenticate(self.env.user.login, self.env.user.login)
        self.assertCustomerPage(self.get(self.page))
        self.logout()
        self.assertCustomerPage(self.get(self.page))
        self.assertIn(
            "The customer opened the payment link for the first time.",
            "".join(self.invoice.message_ids.mapped("preview")),
        )

    def test_the_page_gives_its_dates_as_the_customers_day(self):
        self.customer.tz = "Pacific/Auckland"
        self.assertCustomerPage(self.declare_transfer(), 303)
        # 23:30 UTC on 30 November is already 1 December in Auckland.
        self.invoice.paybylink_link_id.sudo().transfer_declared_at = "2026-11-30 23:30:00"
        self.assertIn("01/12/2026", self.get(self.page).text)
        self.customer.tz = False
        self.assertIn("30/11/2026", self.get(self.page).text, "else UTC's")

    def test_declared_transfer_moves_the_payment_in_progress(self):
        response = self.declare_transfer()
        self.assertCustomerPage(response, 303)
        self.assertTrue(response.headers["Location"].endswith(self.page))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        self.assertTrue(self.invoice.paybylink_transfer_declared_at)
        self.assertIn(
            "The customer declared a bank transfer on the payment page.",
            "".join(self.invoice.message_ids.mapped("preview")),
        )
        html = self.get(self.page).text
        self.assertIn(
            "Merci de nous avoir indiqué que vous avez fait le virement", html
        )  # what happens next, in French
        self.assertNotIn(f'action="{self.page}/transfer"', html, "declared once")

    @mute_logger("odoo.http")
    def test_declaring_a_transfer_needs_the_form_csrf_token(self):
        for forged in ("", "0" * 40 + "o9999999999"):
            with self.subTest(csrf_token=forged):
                self.assertCustomerPage(self.declare_transfer(forged), 400)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")

    def test_a_declared_transfer_is_confirmed_and_can_be_taken_back(self):
        form = self.get(self.page).text
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        self.assertIn('name="confirmed" value="1" required="required"', form)
        unconfirmed = self.url_open(
            f"{self.page}/transfer", data={"csrf_token": csrf_token}, allow_redirects=False
        )
        self.assertCustomerPage(unconfirmed)
        self.assertIn("Veuillez cocher la case pour confirmer", unconfirmed.text)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened", "nothing declared")
        self.assertCustomerPage(self.declare_transfer(), 303)
        html = self.get(self.page).text
        self.assertIn(f'action="{self.page}/transfer/undo"', html)
        taken_back = self.url_open(
            f"{self.page}/transfer/undo", data={"csrf_token": csrf_token}, allow_redirects=False
        )
        self.assertCustomerPage(taken_back, 303)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.assertFalse(self.invoice.paybylink_transfer_declared_at)
        self.assertIn(
            "The customer took back the bank transfer they had declared.",
            "".join(self.invoice.message_ids.mapped("preview")),
        )
        self.assertIn(f'action="{self.page}/transfer"', self.get(self.page).text)
        # Once part of the invoice is paid, the declaration stays.
        self.assertCustomerPage(self.declare_transfer(), 303)
        self.pay(amount=100)
        self.url_open(f"{self.page}/transfer/undo", data={"csrf_token": csrf_token})
        self.invoice.invalidate_recordset()
        self.assertTrue(self.invoice.paybylink_transfer_declared_at)

    def test_a_company_logo_shows_only_when_the_company_has_one(self):
        self.company.logo = base64.b64encode(PNG_PIXEL)
        self.assertIn(
            f"/web/binary/company_logo?company={self.company.id}", self.get(self.page).text
        )

    def test_what_odoo_answers_on_its_own_under_the_routes_carries_the_headers(self):
        token = self.page.rsplit("/", 1)[1]
        # Odoo's language redirect, whatever prefix the link was given.
        redirected = self.get(f"/en{self.page}", allow_redirects=False)
        self.assertCustomerPage(redirected, 303)
        self.assertTrue(redirected.headers["Location"].endswith(self.page))
        # Paths under the routes that do not exist: the addon's page, which repeats nothing.
        for path in (
            f"{self.page}/invoice.PDF",
            f"{self.page}/transfer/again",
            "/paybylink/",
            "/paybylink",
            f"/xx{self.page}/invoice.pdf",
        ):
            with self.subTest(path=path):
                response = self.get(path, allow_redirects=False)
                self.assertCustomerPage(response, 404)
                self.assertIn(NOT_FOUND, response.text)
                self.assertNotIn(token, response.text)
        self.assertNotIn("no-store", self.get("/web/login").headers.get("Cache-Control", ""))

    def test_a_path_with_doubled_slashes_is_sent_to_the_page_and_names_no_host(self):
        # Werkzeug merges the slashes with a permanent redirect to an address it makes from the
        # request's Host header.
        for path, target in (
            (self.page.replace("/paybylink/", "/paybylink//"), self.page),
            (f"{self.page}//invoice.pdf", f"{self.page}/invoice.pdf"),
        ):
            with self.subTest(path=path):
                response = self.get(path, Host="attacker.example")
                self.assertCustomerPage(response, 308)
                self.assertEqual(response.headers["Location"], target)

    def send_raw(self, request_bytes):
        """Send ``request_bytes`` as they are on a connection of their own; return the
        answer's status and headers."""
        host, port = self.base_url().removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=12) as connection:
            connection.sendall(request_bytes)
            answer = connection.makefile("rb")
            status = int(answer.readline().split()[1])
            headers = {}
            while (line := answer.readline().decode("latin-1").strip()) and ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip()] = value.strip()
        return status, headers

    def test_a_body_that_cannot_be_read_is_a_bad_request(self):
        # A chunked body whose chunk size is not one: Werkzeug fails to read it.
        for path, content_type in (
            ("/paybylink/stripe/webhook", "application/json"),
            (f"{self.page}/transfer", "application/x-www-form-urlencoded"),
        ):
            for chunk_size in (b"ZZ", b"-5"):
                with self.subTest(path=path, chunk_size=chunk_size):
                    status, headers = self.send_raw(
                        f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
                        f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n".encode()
                        + chunk_size
                        + b"\r\n{}\r\n0\r\n\r\n"
                    )
                    self.assertEqual(status, 400)
                    for header, value in PAGE_HEADERS.items():
                        self.assertEqual(headers.get(header), value)
        self.invoice.invalidate_recordset()
        self.assertFalse(self.invoice.paybylink_transfer_declared_at)

    def test_parameters_a_route_does_not_use_are_not_written_to_the_log(self):
        junk = "x" * 5000
        with self.assertNoLogs("odoo.http", "WARNING"):
            self.assertCustomerPage(self.get(f"/paybylink/help?{junk}=1"))
            self.assertCustomerPage(self.get(f"{self.page}/invoice.pdf?{junk}=1"))
            response = self.url_open(
                "/paybylink/stripe/webhook", data={junk: "1"}, headers={"Stripe-Signature": "x"}
            )
            self.assertCustomerPage(response, 400)

    def test_paid_invoice_page_offers_no_payment(self):
        self.pay()
        html = self.get(self.page).text
        self.assertIn("Merci, votre paiement a bien été reçu", html)
        self.assertIn("/invoice.pdf", html)
        for absent in ("<svg", "/transfer", "FR76 3000"):
            self.assertNotIn(absent, html)

    def test_non_euro_invoice_has_no_qr_code(self):
        usd_invoice = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[100.0], post=True
        )
        self.assertNotEqual(usd_invoice.currency_id.name, "EUR")
        self.send_link(usd_invoice)
        html = self.get(f"/paybylink/{usd_invoice.paybylink_token}").text
        self.assertIn("FR76 3000 6000 0112 3456 7890 189", visible_text(html))
        self.assertNotIn("<svg", html)

    def test_unknown_or_malformed_token_reveals_nothing(self):
        for token in (secrets.token_urlsafe(32), "short", "x" * 43 + "'--"):
            with self.subTest(token=token):
                response = self.get(f"/paybylink/{token}")
                self.assertCustomerPage(response, 404)
                self.assertIn(NOT_FOUND, response.text)
                self.assertNotIn("Atelier Lumière", response.text)
                self.assertNotIn(self.invoice.name, response.text)

    def test_revoked_link_names_only_the_company_and_a_new_link_is_new(self):
        old_token = self.invoice.paybylink_token
        self.invoice.button_draft()
        self.assertFalse(self.invoice.paybylink_state)
        response = self.get(self.page)
        self.assertCustomerPage(response, 404)
        self.assertIn("Atelier Lumière", response.text)
        self.assertNotIn(self.invoice.name, response.text)
        self.assertCustomerPage(self.get(f"{self.page}/invoice.pdf"), 404)

        self.invoice.action_post()
        self.send_link()
        self.assertNotEqual(self.invoice.paybylink_token, old_token)
        self.assertCustomerPage(self.get(f"/paybylink/{self.invoice.paybylink_token}"))

    def test_cancelled_invoice_link_stops_working(self):
        self.invoice.button_cancel()
        self.assertCustomerPage(self.get(self.page), 404)
        link = self.invoice.paybylink_link_ids
        self.assertEqual((link.active, link.stop_reason), (False, "cancel"))
        self.assertTrue(link.stopped_at)

    def test_every_link_sent_is_kept_and_a_new_one_starts_afresh(self):
        # The first link is viewed and an online payment of it fails.
        self.assertCustomerPage(self.get(self.page))
        first = self.invoice.paybylink_link_id
        self.env["paybylink.stripe.session"].sudo().create(
            {
                "link_id": first.id,
                "stripe_session_id": "cs_test_first",
                "attempt_ref": "first-attempt",
                "amount": self.invoice.amount_total,
                "currency_id": self.invoice.currency_id.id,
                "state": "failed",
            }
        )
        first.sudo()._set_state("interrupted", "The online payment failed.")
        pages = [self.page]
        for _resend in range(2):
            self.invoice.button_draft()
            self.invoice.action_post()
            self.send_link()
            pages.append(f"/paybylink/{self.invoice.paybylink_token}")
        links = self.invoice.paybylink_link_ids
        self.assertEqual(len(links), 3, "every link sent is kept")
        self.assertEqual(links.filtered("active"), self.invoice.paybylink_link_id)
        self.assertEqual(
            set((links - self.invoice.paybylink_link_id).mapped("stop_reason")), {"draft"}
        )
        self.assertEqual((first.state, first.open_count), ("interrupted", 1), "its history stays")
        self.assertEqual(len(first.stripe_session_ids), 1)
        # The new link owes nothing to the old ones.
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.assertEqual(self.invoice.paybylink_open_count, 0)
        self.assertFalse(self.invoice.paybylink_stripe_session_ids)
        # Every token ever sent still answers: the old ones name the company, the new one works.
        for page in pages[:-1]:
            response = self.get(page)
            self.assertCustomerPage(response, 404)
            self.assertIn("Atelier Lumière", response.text)
            self.assertNotIn(self.invoice.name, response.text)
        self.assertCustomerPage(self.get(pages[-1]))
        # A payment of the new link undone: back to what its own evidence says, never to the
        # old link's failed attempt.
        self.pay()
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.assertEqual(self.invoice.paybylink_link_id.paid_by, "other")
        self.invoice.line_ids.remove_move_reconcile()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")

    def test_expired_link(self):
        self.company.paybylink_validity_days = 5
        self.assertCustomerPage(self.get(self.page))
        self.invoice.paybylink_link_id.sudo().sent_at = fields.Datetime.now() - timedelta(days=6)
        response = self.get(self.page)
        self.assertCustomerPage(response, 404)
        self.assertIn("Atelier Lumière", response.text)

    def test_invoice_pdf(self):
        response = self.get(f"{self.page}/invoice.pdf")
        self.assertCustomerPage(response)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(self.invoice.name.replace("/", "_"), response.headers["Content-Disposition"])

    def test_invoice_pdf_is_the_one_odoos_send_kept(self):
        # Odoo's Send keeps the PDF it sent, the legal document: the page gives that one, as
        # Odoo's portal does, without rendering it again on each request.
        action = self.invoice.action_send_and_print()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({})
        wizard.sending_method_checkboxes = {
            method: {**checkbox, "checked": method == "manual"}
            for method, checkbox in wizard.sending_method_checkboxes.items()
        }
        wizard.action_send_and_print()
        kept = self.invoice.invoice_pdf_report_id
        self.assertTrue(kept)
        reports = type(self.env["ir.actions.report"])
        with patch.object(reports, "_render_qweb_pdf", side_effect=AssertionError("rendered")):
            response = self.get(f"{self.page}/invoice.pdf")
        self.assertCustomerPage(response)
        self.assertEqual(response.content, kept.raw)
        self.assertEqual(response.headers["Content-Type"], kept.mimetype)
        self.assertIn(kept.name, response.headers["Content-Disposition"])

    def test_a_logged_in_customer_is_a_visitor_like_any_other(self):
        # The route starts with no user: a portal user's session, checked by Odoo, gives theirs
        # as auth="public" would; once their password changed, the session is no longer theirs.
        customer_user = new_test_user(
            self.env,
            login="camille",
            password="camille-portal",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )
        self.authenticate("camille", "camille-portal")
        for _rendered_then_kept in range(2):
            self.assertCustomerPage(self.get(self.page))
        customer_user.password = "camille-portal-2"
        self.env.flush_all()
        self.assertCustomerPage(self.get(self.page))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_open_count, 3)
        self.assertIn(
            "The customer opened the payment link for the first time.",
            "".join(self.invoice.message_ids.mapped("preview")),
        )

    def test_help_page_speaks_the_visitor_language(self):
        response = self.get("/paybylink/help", **{"Accept-Language": "fr-FR,fr;q=0.9"})
        self.assertCustomerPage(response)
        self.assertIn("Payer une facture avec un lien d'encaissement", response.text)
        response = self.get("/paybylink/help", **{"Accept-Language": "en-GB,en;q=0.9"})
        self.assertIn("Paying an invoice with a payment link", response.text)

    def test_portal_shows_the_status_and_a_pay_button(self):
        new_test_user(
            self.env,
            login="camille",
            password="camille-portal",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )
        self.invoice.message_subscribe(self.customer.ids)
        self.authenticate("camille", "camille-portal")
        for path in ("/my/invoices", f"/my/invoices/{self.invoice.id}"):
            with self.subTest(path=path):
                html = self.get(path, allow_redirects=True).text
                self.assertIn(f'href="{self.invoice.paybylink_url}"', html)
                self.assertIn("Pas ouvert", html)
