# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import http.server
import json
import threading

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import PayByLinkCommon


class _KeepAliveStripe(http.server.BaseHTTPRequestHandler):
    """Stripe's answer to a Checkout Session's retrieval, over a connection kept open."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.peers.add(self.client_address)
        self.server.keys = [*getattr(self.server, "keys", []), self.headers["Authorization"][7:]]
        body = json.dumps({"id": "cs_test_1", "object": "checkout.session"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestPaybylinkAccess(PayByLinkCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.billing_user = new_test_user(
            cls.env,
            login="billing",
            groups="base.group_user,account.group_account_invoice",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.readonly_user = new_test_user(
            cls.env, login="auditor", groups="base.group_user,account.group_account_readonly"
        )
        cls.portal_user = new_test_user(
            cls.env, login="camille", groups="base.group_portal", partner_id=cls.customer.id
        )
        cls.public_user = cls.env.ref("base.public_user")

    def test_invoicing_user_sends_and_reminds(self):
        invoice = self.invoice.with_user(self.billing_user)
        self.send_link(invoice)
        self.assertEqual(invoice.paybylink_state, "not_opened")
        self.assertTrue(invoice.paybylink_url)
        invoice.action_paybylink_remind()
        self.assertEqual(invoice.paybylink_reminder_count, 1)

    def test_readonly_accountant_sees_the_link_but_cannot_send(self):
        self.send_link()
        invoice = self.invoice.with_user(self.readonly_user)
        self.assertEqual(invoice.paybylink_url, self.invoice.paybylink_url)
        with self.assertRaises(AccessError):
            invoice.action_paybylink_remind()

    def test_portal_and_public_users_reach_nothing(self):
        self.send_link()
        self.invoice.message_subscribe(self.customer.ids)  # the portal rule needs it
        for label, user in (("portal", self.portal_user), ("public", self.public_user)):
            with self.subTest(user=label):
                invoice = self.invoice.with_user(user)
                with self.assertRaises(AccessError):
                    invoice.action_paybylink_send()
                with self.assertRaises(AccessError):
                    invoice.action_paybylink_remind()
                with self.assertRaises(AccessError):
                    invoice.read(["paybylink_token"])
                with self.assertRaises(AccessError):
                    invoice.read(["paybylink_url"])
                with self.assertRaises(AccessError):
                    self.env["paybylink.send.wizard"].with_user(user).create(
                        {"move_id": self.invoice.id}
                    )
        self.assertEqual(self.invoice.paybylink_reminder_count, 0)

    def test_other_company_invoice_is_out_of_reach(self):
        other_company = self.setup_other_company(name="Other SARL")["company"]
        other_invoice = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[10.0], post=True, company=other_company
        )
        with self.assertRaises(AccessError):
            other_invoice.with_user(self.billing_user).action_paybylink_send()
        self.assertFalse(other_invoice.paybylink_state)

    def test_a_user_of_another_company_reaches_nothing_of_this_one(self):
        self.send_link()
        self.url_open_free_visit()
        other_company = self.setup_other_company(name="Other SARL")["company"]
        outsider = new_test_user(
            self.env,
            login="outsider",
            groups="base.group_user,account.group_account_invoice",
            company_id=other_company.id,
            company_ids=[other_company.id],
        )
        env = self.env(user=outsider, context={})
        with self.assertRaises(AccessError):
            env["paybylink.send.wizard"].create({"move_id": self.invoice.id})
        send_wizard = env["account.move.send.wizard"]
        with self.assertRaises(AccessError):
            send_wizard.with_context(active_ids=self.invoice.ids).create({})
        for model in ("paybylink.link", "paybylink.visit", "paybylink.stripe.session"):
            with self.subTest(model=model):
                self.assertFalse(env[model].search([]), "another company's records are hidden")
        with self.assertRaises(AccessError):
            env["paybylink.link"].browse(self.invoice.paybylink_link_id.id).read(["email"])

    def test_a_payment_link_form_stays_in_its_company(self):
        other_company = self.setup_other_company(name="Other SARL")["company"]
        both = new_test_user(
            self.env,
            login="both",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[self.company.id, other_company.id],
        )
        form = (
            self.env["paybylink.send.wizard"]
            .with_user(both)
            .with_context(allowed_company_ids=self.company.ids)
            .create({"move_id": self.invoice.id})
        )
        self.assertEqual(form.company_id, self.company)
        with self.assertRaises(AccessError):
            form.with_context(allowed_company_ids=other_company.ids).read(["email_to", "body"])

    def url_open_free_visit(self):
        """A view of the page, as the customer's page records it."""
        self.invoice.paybylink_link_id._record_visit()

    def test_stripe_keys_are_for_accounting_administrators_only(self):
        self.company.write(
            {
                "paybylink_stripe_secret_key": "sk_test_secret",
                "paybylink_stripe_webhook_secret": "whsec_secret",
            }
        )
        for field in ("paybylink_stripe_secret_key", "paybylink_stripe_webhook_secret"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                self.company.with_user(self.billing_user).read([field])
        admin = new_test_user(
            self.env,
            login="chief",
            groups="base.group_user,account.group_account_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        self.assertEqual(
            self.company.with_user(admin).paybylink_stripe_secret_key, "sk_test_secret"
        )

    def test_stripe_settings_are_checked(self):
        for values in (
            {"paybylink_stripe_payment_methods": "card,cheque"},
            {"paybylink_stripe_payment_methods": " , "},
            {"paybylink_stripe_checkout_minutes": 29},
            {"paybylink_stripe_checkout_minutes": 24 * 60 + 1},
            {"paybylink_stripe_journal_id": self.company_data["default_journal_misc"].id},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.company.write(values)
        self.company.write(
            {
                "paybylink_stripe_payment_methods": "card, sepa_debit",
                "paybylink_stripe_checkout_minutes": 30,
            }
        )
        self.assertEqual(
            self.company._paybylink_stripe_payment_method_codes(), ["card", "sepa_debit"]
        )

    def test_stripe_api_base_is_technical_and_only_https_or_loopback(self):
        accounting_admin = new_test_user(
            self.env,
            login="chief",
            groups="base.group_user,account.group_account_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        for user in (self.billing_user, accounting_admin):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.company.with_user(user).read(["paybylink_stripe_api_base"])
        for refused in (
            "http://api.stripe.example",
            "http://10.0.0.5:12111",
            "https://user:secret@api.stripe.com",
            "https://api.stripe.com/v1",
            "https://api.stripe.com?next=elsewhere",
            "ftp://127.0.0.1",
            "https://:443",
            "https://api.stripe.com:port",
            "api.stripe.com",
        ):
            with self.subTest(api_base=refused), self.assertRaises(ValidationError):
                self.company.write({"paybylink_stripe_api_base": refused})
        for accepted in (
            "https://api.stripe.com",
            "https://stripe-proxy.example:8443/",
            "http://127.0.0.1:12111",
            "http://[::1]:12111",
            "http://localhost:12111",
        ):
            self.company.write({"paybylink_stripe_api_base": accepted})
            self.assertEqual(self.company.paybylink_stripe_api_base, accepted)

    def test_an_unsafe_stored_api_base_never_gets_the_key(self):
        # As an older version may have stored it, before it was checked.
        self.env.cr.execute(
            "UPDATE res_company SET paybylink_stripe_api_base = %s WHERE id = %s",
            ("http://stripe.example", self.company.id),
        )
        self.company.invalidate_recordset(["paybylink_stripe_api_base"])
        self.company.paybylink_stripe_secret_key = "sk_test_secret"
        with self.assertLogs("odoo.addons.paybylink_addon.models.res_company", "WARNING"):
            client = self.company._paybylink_stripe_client()
        self.assertEqual(client._requestor.base_addresses["api"], "https://api.stripe.com")

    def test_stripe_calls_go_over_the_connection_the_last_one_left_open(self):
        # A TLS handshake with Stripe takes longer than most calls: the calls of a thread,
        # whichever company makes them, share one connection while Stripe keeps it open.
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveStripe)
        server.peers = set()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        api_base = f"http://127.0.0.1:{server.server_port}"
        other_company = self.env["res.company"].create({"name": "Autre société"})
        for company, key in ((self.company, "sk_test_one"), (other_company, "sk_test_two")):
            company.write({"paybylink_stripe_api_base": api_base})
            company.sudo().paybylink_stripe_secret_key = key
        for company in (self.company, self.company, other_company):
            session = company._paybylink_stripe_client().v1.checkout.sessions.retrieve("cs_test_1")
            self.assertEqual(session.id, "cs_test_1")
        self.assertEqual(len(server.peers), 1, "one connection")
        self.assertEqual(server.keys, ["sk_test_one", "sk_test_one", "sk_test_two"])

    def test_stripe_methods_are_ticked_by_name_in_the_settings(self):
        self.company.paybylink_stripe_payment_methods = "card"
        settings = Form(self.env["res.config.settings"].with_company(self.company))
        self.assertTrue(settings.paybylink_stripe_method_card)
        self.assertFalse(settings.paybylink_stripe_method_sepa_debit)
        settings.paybylink_stripe_method_sepa_debit = True
        settings.paybylink_stripe_method_paypal = True
        settings.save().execute()
        self.assertEqual(self.company.paybylink_stripe_payment_methods, "card,sepa_debit,paypal")
        settings = Form(self.env["res.config.settings"].with_company(self.company))
        for code in ("card", "sepa_debit", "paypal"):
            setattr(settings, f"paybylink_stripe_method_{code}", False)
        with self.assertRaises(ValidationError):
            settings.save().execute()

    def test_no_one_writes_an_invoice_s_link_or_status_by_hand(self):
        # Over RPC or an import, a user who may write the invoice would otherwise point it at a
        # link of their choosing (another invoice's, another company's: its token, its page, its
        # payment) or give it any status.
        self.send_link()
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[20.0], post=True)
        self.send_link(other)
        link = self.invoice.paybylink_link_id
        invoice = self.invoice.with_user(self.billing_user)
        for values in (
            {"paybylink_link_id": other.paybylink_link_id.id},
            {"paybylink_link_id": False},
            {"paybylink_state": "paid"},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                invoice.write(dict(values))
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_link_id, link)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        # What follows the link on the invoice cannot be written at all.
        for name, field in self.invoice._fields.items():
            if name.startswith("paybylink_") and field.related:
                with self.subTest(field=name):
                    before = self.invoice[name]
                    with (
                        contextlib.suppress(AccessError, ValidationError),
                        self.env.cr.savepoint(),
                    ):
                        invoice.write({name: False})
                    self.invoice.invalidate_recordset()
                    link.invalidate_recordset()
                    self.assertEqual(self.invoice[name], before)
