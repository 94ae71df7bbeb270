# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    paybylink_partner_bank_id = fields.Many2one(
        comodel_name="res.partner.bank",
        string="Payment Link Bank Account",
        domain="[('partner_id', '=', partner_id)]",
        ondelete="set null",
        help="The IBAN offered by default when sending a payment link; without it, the invoice's "
        "own bank account.",
    )
    paybylink_validity_days = fields.Integer(
        string="Payment Link Validity (days)",
        help="Days after sending during which an unpaid link works; 0 keeps it working until paid.",
    )
    paybylink_email_help_link = fields.Boolean(
        string="Help Page Link in Emails",
        default=True,
        help="Payment link emails end with a link to the help page for customers.",
    )
