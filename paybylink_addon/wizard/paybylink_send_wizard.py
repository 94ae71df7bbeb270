# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import utils


class PaybylinkSendWizard(models.TransientModel):
    _name = "paybylink.send.wizard"
    _inherit = ["paybylink.link.token.mixin"]
    _description = "Send a payment link"
    _check_company_auto = True

    move_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice",
        required=True,
        readonly=True,
        ondelete="cascade",
        check_company=True,
        default=lambda self: self._default_move_id(),
    )
    company_id = fields.Many2one(related="move_id.company_id", store=True)
    company_partner_id = fields.Many2one(related="move_id.company_id.partner_id")
    currency_id = fields.Many2one(related="move_id.currency_id")
    # Made when the form opens, taken back with its proof (paybylink.link.token.mixin).
    token = fields.Char(readonly=True)
    token_proof = fields.Char(readonly=True)
    amount = fields.Monetary(
        compute="_compute_amount",
        store=True,
        precompute=True,
        readonly=True,
        help="Always what remains due on the invoice: all of it, or what a deposit or a part "
        "paid left.",
    )
    partner_bank_id = fields.Many2one(
        comodel_name="res.partner.bank",
        string="IBAN",
        compute="_compute_partner_bank_id",
        store=True,
        precompute=True,
        readonly=False,
        check_company=True,
        domain="[('partner_id', '=', company_partner_id)]",
        help="The company's bank account the customer pays to.",
    )
    beneficiary_name = fields.Char(
        compute="_compute_beneficiary_name",
        store=True,
        precompute=True,
        readonly=False,
        help="The name the customer's bank shows for the transfer (70 characters at most).",
    )
    reference = fields.Char(
        compute="_compute_reference",
        store=True,
        precompute=True,
        readonly=False,
        help="The reference the customer quotes on the transfer.",
    )
    email_to = fields.Char(
        string="Email",
        compute="_compute_email_to",
        store=True,
        precompute=True,
        readonly=False,
        help="Where the link is sent; several addresses may be separated by commas.",
    )
    subject = fields.Char(
        string="Email subject",
        compute="_compute_subject_body",
        store=True,
        precompute=True,
        readonly=False,
    )
    body = fields.Html(
        string="Email body",
        compute="_compute_subject_body",
        store=True,
        precompute=True,
        readonly=False,
    )

    @api.model
    def _default_move_id(self):
        if self.env.context.get("active_model") == "account.move":
            return self.env.context.get("active_id")
        return False

    # === COMPUTE METHODS === #

    @api.depends("move_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.move_id.amount_residual

    @api.depends("move_id")
    def _compute_partner_bank_id(self):
        for wizard in self:
            wizard.partner_bank_id = wizard._default_link_value("partner_bank")

    @api.depends("move_id")
    def _compute_beneficiary_name(self):
        for wizard in self:
            wizard.beneficiary_name = wizard._default_link_value("beneficiary_name")

    @api.depends("move_id")
    def _compute_reference(self):
        for wizard in self:
            wizard.reference = wizard._default_link_value("reference")

    @api.depends("move_id")
    def _compute_email_to(self):
        for wizard in self:
            wizard.email_to = wizard._default_link_value("email_to")

    def _default_link_value(self, key):
        self.ensure_one()
        return self.move_id._paybylink_default_link_values()[key] if self.move_id else False

    @api.depends("move_id", "token", "reference")
    def _compute_subject_body(self):
        template = self.env.ref("paybylink_addon.mail_template_paybylink")
        for wizard in self:
            if not wizard.move_id or not wizard.token:
                wizard.subject = wizard.body = False
                continue
            wizard.subject, wizard.body = wizard.move_id._paybylink_render_mail(
                template,
                utils.build_page_url(wizard.move_id.get_base_url(), wizard.token),
                wizard.reference,
            )

    # === ACTION METHODS === #

    def action_send(self):
        """Send the link by email and record it on the invoice."""
        self.ensure_one()
        if not self.move_id:
            raise UserError(self.env._("Open this form from a customer invoice."))
        self.move_id._paybylink_send(
            self.token,
            {
                "amount": self.amount,
                "partner_bank": self.partner_bank_id,
                "beneficiary_name": self.beneficiary_name,
                "reference": self.reference,
                "email_to": self.email_to,
            },
            self.subject,
            self.body,
        )
        return {"type": "ir.actions.act_window_close"}
