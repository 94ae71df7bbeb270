# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    paybylink_no_reminder = fields.Boolean(
        string="No Payment Link Reminders",
        help="This customer's payment links are never emailed again on schedule.",
    )

    @api.model
    def _commercial_fields(self):
        # EXTENDS base: a company's contacts follow the company's choice.
        return [*super()._commercial_fields(), "paybylink_no_reminder"]
