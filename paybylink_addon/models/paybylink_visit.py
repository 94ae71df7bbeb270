# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PaybylinkVisit(models.Model):
    """One view of a customer's page.

    Views are rows of their own, referencing the link only: inserting one neither waits for nor
    blocks a payment, which locks the link ``FOR NO KEY UPDATE`` and the invoice.
    """

    _name = "paybylink.visit"
    _description = "Payment link page view"
    _order = "id"
    _log_access = False

    link_id = fields.Many2one(
        comodel_name="paybylink.link",
        string="Payment Link",
        required=True,
        index=True,
        ondelete="cascade",
    )
    # The link's, not stored: a stored copy costs every view a foreign key check, which locks
    # the company's row (FOR KEY SHARE) and, after Odoo's DISCARD ALL, plans its query again.
    company_id = fields.Many2one(related="link_id.company_id")
    visited_at = fields.Datetime(string="Viewed On", required=True, default=fields.Datetime.now)
    # Set on the link's first view only: a view learns whether it is the first by inserting it
    # (ON CONFLICT), an index lookup, not by a search of the link's views that PostgreSQL may
    # plan as a scan of every link's.
    first_view_link_id = fields.Many2one(
        comodel_name="paybylink.link", string="First View Of", readonly=True, ondelete="cascade"
    )

    _sql_constraints = [
        ("first_view_link_unique", "UNIQUE(first_view_link_id)", "A link has one first view."),
    ]
