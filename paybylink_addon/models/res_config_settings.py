# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    paybylink_partner_bank_id = fields.Many2one(
        related="company_id.paybylink_partner_bank_id",
        readonly=False,
        domain="[('partner_id.ref_company_ids', '=', company_id)]",
    )
    paybylink_validity_days = fields.Integer(
        related="company_id.paybylink_validity_days", readonly=False
    )
    paybylink_email_help_link = fields.Boolean(
        related="company_id.paybylink_email_help_link", readonly=False
    )
