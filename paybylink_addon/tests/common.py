# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
import socket
from unittest.mock import patch

from odoo import Command
from odoo.modules import module
from odoo.tests import HttpCase

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from stripe_standin import StripeStandin, sign

# A valid French IBAN (check digits 76) and one of another country, both SEPA.
COMPANY_IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "DE89370400440532013000"


MAIN_COMPANY_IBAN = "FR7630006000011234567890189"


def visible_text(html):
    """The text of ``html`` as a reader sees it: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def send_link_in_main_company(env):
    """A posted invoice of the database's main company with its link sent, for the tests that
    commit (real concurrency needs data other transactions see)."""
    invoice = post_invoice_in_main_company(env)
    action = invoice.action_paybylink_send()
    env[action["res_model"]].with_context(**action["context"]).create({}).action_send()
    return invoice


def post_invoice_in_main_company(env):
    """A posted invoice of the database's main company, with its bank account set for links."""
    company = env.ref("base.main_company")
    company.paybylink_partner_bank_id = env["res.partner.bank"].search(
        [
            ("sanitized_acc_number", "=", MAIN_COMPANY_IBAN),
            ("partner_id", "=", company.partner_id.id),
        ]
    ) or env["res.partner.bank"].create(
        {"acc_number": MAIN_COMPANY_IBAN, "partner_id": company.partner_id.id}
    )
    customer = env["res.partner"].create({"name": "Race Customer", "email": "race@example.com"})
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "company_id": company.id,
            "invoice_line_ids": [
                Command.create({"name": "Lamp", "quantity": 1, "price_unit": 250.0})
            ],
        }
    )
    invoice.action_post()
    return invoice


def cancel_linked_invoice(env, invoice_id):
    """Undo what the tests that commit left: the payments of the invoice's links, the invoice,
    its emails still queued, and the main company's Stripe keys."""
    invoice = env["account.move"].browse(invoice_id)
    env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice_id)]).unlink()
    payments = invoice.paybylink_link_ids.stripe_session_ids.payment_id
    payments.action_draft()
    payments.action_cancel()
    invoice.line_ids.remove_move_reconcile()
    invoice.button_cancel()
    env.ref("base.main_company").write(
        {"paybylink_stripe_secret_key": False, "paybylink_stripe_webhook_secret": False}
    )


def configure_stripe(company, standin, secret_key, webhook_secret, journal=None, **values):
    """Let ``company``'s customers pay online through the Stripe stand-in, into ``journal``
    (by default the company's first bank journal); ``values``: other fields of the company."""
    journal = journal or company.env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
    )
    company.write(
        {
            "paybylink_stripe_secret_key": secret_key,
            "paybylink_stripe_webhook_secret": webhook_secret,
            "paybylink_stripe_api_base": standin.api_base,
            "paybylink_stripe_journal_id": journal.id,
            **values,
        }
    )


def start_stripe_standin(test_class):
    """A Stripe stand-in serving ``test_class``'s tests, stopped after them."""
    standin = StripeStandin()
    standin.start()
    test_class.addClassCleanup(standin.stop)
    return standin


class PayByLinkCommon(AccountTestInvoicingCommon):
    """A company with an IBAN, a French-speaking customer with an email and a posted invoice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["paybylink_addon"], ["fr_FR"])
        cls.company = cls.company_data["company"]
        cls.company.name = "Atelier Lumière"
        cls.company_iban = cls.env["res.partner.bank"].create(
            {"acc_number": COMPANY_IBAN, "partner_id": cls.company.partner_id.id}
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Camille Martin", "email": "camille.martin@example.com", "lang": "fr_FR"}
        )
        cls.invoice = cls.init_invoice(
            "out_invoice", partner=cls.customer, amounts=[1000.0], post=True
        )

    def use_smtp_port(self, port):
        """Send Odoo's emails to a local SMTP server on ``port``."""
        self.env["ir.mail_server"].search([]).active = False
        self.env["ir.mail_server"].create(
            {
                "name": "local",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_encryption": "none",
            }
        )

    @staticmethod
    def closed_port():
        """A local port where no server listens: a mail server that is down."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def process_mail_queue(self):
        """Run the mail queue as its cron does, with Odoo's test-mode switch off so that it
        really speaks SMTP; only this test's emails (those of its company's invoices), whatever
        tests that commit left queued."""
        mails = self.env["mail.mail"].search(
            [("model", "=", "account.move"), ("res_id", "in", self.company_invoice_ids())]
        )
        if not mails:  # no ids would send every queued email
            return
        with patch.object(module, "current_test", False):
            self.env["mail.mail"].process_email_queue(ids=mails.ids)

    def company_invoice_ids(self):
        return self.env["account.move"].search([("company_id", "=", self.company.id)]).ids

    def open_send_wizard(self, invoice=None, **values):
        """Return a send wizard for ``invoice`` as the form would create it, with ``values`` set."""
        invoice = invoice or self.invoice
        action = invoice.action_paybylink_send()
        wizard = invoice.env[action["res_model"]].with_context(**action["context"]).create({})
        wizard.write(values)
        return wizard

    def send_link(self, invoice=None, **values):
        wizard = self.open_send_wizard(invoice, **values)
        wizard.action_send()
        return wizard

    def pay(self, invoice=None, amount=None):
        """Pay ``invoice`` (all that is due, or ``amount``) as the Pay button does."""
        invoice = invoice or self.invoice
        values = {"amount": amount} if amount else {}
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create(values)._create_payments()


class PayByLinkPageCommon(PayByLinkCommon):
    """An invoice in euros whose link was sent: its customer's page has everything, QR code too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_iban.bank_id = cls.env["res.bank"].create({"name": "Banque", "bic": "AGRIFRPP"})
        cls.invoice = cls.init_invoice(
            "out_invoice",
            partner=cls.customer,
            amounts=[1234.5],
            post=True,
            currency=cls.setup_other_currency("EUR"),
        )

    def setUp(self):
        super().setUp()
        self.send_link()
        self.page = f"/paybylink/{self.invoice.paybylink_token}"


class PayByLinkStripeCommon(PayByLinkPageCommon, HttpCase):
    """The euro invoice's link was sent by a company paid online through the Stripe stand-in,
    which delivers its signed webhooks to the test server."""

    secret_key = "sk_test_atelier"
    webhook_secret = "whsec_atelier"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe = start_stripe_standin(cls)
        cls.stripe_journal = cls.company_data["default_journal_bank"]
        cls.configure_stripe(cls.company, cls.secret_key, cls.webhook_secret, cls.stripe_journal)

    @classmethod
    def configure_stripe(cls, company, secret_key, webhook_secret, journal):
        configure_stripe(
            company,
            cls.stripe,
            secret_key,
            webhook_secret,
            journal,
            paybylink_stripe_payment_methods="card,sepa_debit",
        )

    def setUp(self):
        super().setUp()
        self.webhook_url = f"{self.base_url()}/paybylink/stripe/webhook"
        self.stripe.add_account(self.secret_key, self.webhook_url, self.webhook_secret)
        self.stripe.clear_requests()
        self.addCleanup(self.stripe.set_outage, None)

    def csrf_token(self, page=None):
        html = self.url_open(page or self.page).text
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def start_checkout(self, page=None):
        """Press "Pay online" on the page; return the response (a redirection to Stripe)."""
        page = page or self.page
        return self.url_open(
            f"{page}/checkout", data={"csrf_token": self.csrf_token(page)}, allow_redirects=False
        )

    def checkout_session(self, invoice=None):
        """Start paying ``invoice`` online; return its new Stripe session record."""
        invoice = invoice or self.invoice
        page = f"/paybylink/{invoice.paybylink_token}"
        response = self.start_checkout(page)
        self.assertEqual(response.status_code, 303, response.text)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        self.assertEqual(response.headers["Referrer-Policy"], "no-referrer")
        invoice.invalidate_recordset()
        session = invoice.paybylink_stripe_session_ids[:1]
        self.assertEqual(response.headers["Location"], session.checkout_url)
        return session

    def post_event(self, payload, secret=None, signature=None):
        """Post ``payload`` to the webhook as Stripe does, signed with ``secret``."""
        if signature is None:
            signature = sign(payload, secret or self.webhook_secret)
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["Stripe-Signature"] = signature
        return self.url_open(self.webhook_url, data=payload, headers=headers)

    def send_event(self, session, event_type, secret=None):
        """Stripe tells about ``session``: post a new event of ``event_type``; return the
        response and the payload, to post it again."""
        payload = self.stripe.make_event(session.stripe_session_id, event_type)
        return self.post_event(payload, secret), payload

    def assertPaidOnce(self, session, invoice=None):
        invoice = invoice or self.invoice
        invoice.invalidate_recordset()
        session.invalidate_recordset()
        payments = self.env["account.payment"].search([("partner_id", "=", invoice.partner_id.id)])
        self.assertEqual(len(payments), 1, "one payment for one session")
        self.assertEqual(session.payment_id, payments)
        self.assertEqual(payments.state, "paid")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(invoice.paybylink_state, "paid")
        self.assertEqual(invoice.paybylink_link_id.paid_by, "online")
        self.assertEqual(session.state, "paid")
        return payments
