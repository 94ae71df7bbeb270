# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .. import utils


class AccountMoveSendWizard(models.TransientModel):
    """Odoo's Send form for one invoice offers to add the payment link to its email, asking
    what the "Send payment link" form asks."""

    _name = "account.move.send.wizard"
    # The mixin first: its default_get sees the invoice that Odoo's own default_get picks.
    _inherit = ["paybylink.link.token.mixin", "account.move.send.wizard"]
    _paybylink_token_fields = ("paybylink_token", "paybylink_token_proof")

    paybylink_offered = fields.Boolean(
        string="Payment Link Offered", compute="_compute_paybylink_offered"
    )
    paybylink_add = fields.Boolean(
        string="Add a payment link",
        compute="_compute_paybylink_add",
        store=True,
        readonly=False,
        help="The email carries a link to a page where the customer pays the invoice online or by "
        "transfer, and the invoice follows the link's status.",
    )
    # As in "Send payment link": made when the form opens, taken back only with its proof.
    paybylink_token = fields.Char(string="Payment Link Token", readonly=True)
    paybylink_token_proof = fields.Char(string="Payment Link Token Proof", readonly=True)
    paybylink_currency_id = fields.Many2one(related="move_id.currency_id")
    paybylink_amount = fields.Monetary(
        string="Amount",
        related="move_id.amount_residual",
        currency_field="paybylink_currency_id",
        help="Always what remains due on the invoice.",
    )
    paybylink_company_partner_id = fields.Many2one(related="move_id.company_id.partner_id")
    paybylink_partner_bank_id = fields.Many2one(
        comodel_name="res.partner.bank",
        string="IBAN",
        compute="_compute_paybylink_link_values",
        store=True,
        readonly=False,
        domain="[('partner_id', '=', paybylink_company_partner_id)]",
    )
    paybylink_beneficiary_name = fields.Char(
        string="Beneficiary name",
        compute="_compute_paybylink_link_values",
        store=True,
        readonly=False,
    )
    paybylink_reference = fields.Char(
        string="Reference",
        compute="_compute_paybylink_link_values",
        store=True,
        readonly=False,
    )

    # === COMPUTE METHODS === #

    @api.depends("move_id", "sending_methods")
    def _compute_paybylink_offered(self):
        for wizard in self:
            wizard.paybylink_offered = self._paybylink_is_offered(
                wizard.move_id, wizard.sending_methods
            )

    @api.depends("paybylink_offered")
    def _compute_paybylink_add(self):
        for wizard in self:
            wizard.paybylink_add = (
                wizard.paybylink_offered and wizard.move_id.company_id.paybylink_send_with_invoice
            )

    @api.depends("move_id")
    def _compute_paybylink_link_values(self):
        for wizard in self:
            values = wizard.move_id._paybylink_default_link_values() if wizard.move_id else {}
            wizard.paybylink_partner_bank_id = values.get("partner_bank")
            wizard.paybylink_beneficiary_name = values.get("beneficiary_name")
            wizard.paybylink_reference = values.get("reference")

    @api.depends("paybylink_add", "paybylink_offered")
    def _compute_mail_subject_body_partners(self):
        # EXTENDS account: the body shows the link the email will carry.
        res = super()._compute_mail_subject_body_partners()
        for wizard in self.filtered(lambda wizard: wizard._paybylink_settings()):
            wizard.mail_body = self._paybylink_body_with_link(
                wizard.move_id, wizard.mail_body, wizard.mail_lang, wizard._paybylink_url()
            )
        return res

    @api.depends(
        "paybylink_add",
        "paybylink_partner_bank_id",
        "paybylink_beneficiary_name",
        "paybylink_reference",
        "mail_partner_ids",
    )
    def _compute_alerts(self):
        # EXTENDS account: the link's refusals depend on what the form says.
        return super()._compute_alerts()

    # === HELPERS === #

    def _paybylink_url(self):
        self.ensure_one()
        return utils.build_page_url(self.move_id.get_base_url(), self.paybylink_token)

    def _paybylink_settings(self):
        """The link the form asks for, as ``moves_data[move]["paybylink"]`` holds it."""
        self.ensure_one()
        if not (self.paybylink_offered and self.paybylink_add):
            return False
        return {
            "token": self.paybylink_token,
            "partner_bank": self.paybylink_partner_bank_id,
            "beneficiary_name": self.paybylink_beneficiary_name or "",
            "reference": self.paybylink_reference or "",
        }

    @api.model
    def _get_alerts(self, moves, moves_data):
        # EXTENDS account.move.send: Odoo builds this form's data without the link's settings.
        for wizard in self.filtered(lambda wizard: wizard.move_id in moves_data):
            moves_data[wizard.move_id]["paybylink"] = wizard._paybylink_settings()
            moves_data[wizard.move_id]["mail_partner_ids"] = wizard.mail_partner_ids.ids
        return super()._get_alerts(moves, moves_data)

    def _get_sending_settings(self):
        # EXTENDS account
        settings = super()._get_sending_settings()
        settings["paybylink"] = self._paybylink_settings()
        return settings
