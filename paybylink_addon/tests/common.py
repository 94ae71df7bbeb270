# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.account.tests.common import AccountTestInvoicingCommon

# A valid French IBAN (check digits 76) and one of another country, both SEPA.
COMPANY_IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "DE89370400440532013000"


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
