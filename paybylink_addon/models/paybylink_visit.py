# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PaybylinkVisit(models.Model):
    """One view of a customer's page.

    Views are rows of their own, inserted without touching the invoice: a busy page never waits
    for, nor blocks, a payment that holds the invoice's row.
    """

    _name = "paybylink.visit"
    _description = "Payment link page view"
    _order = "id"
    _log_access = False

    move_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice",
        required=True,
        index=True,
        ondelete="cascade",
    )
    visited_at = fields.Datetime(string="Viewed On", required=True, default=fields.Datetime.now)
