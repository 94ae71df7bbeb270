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
    _check_company_auto = True

    link_id = fields.Many2one(
        comodel_name="paybylink.link",
        string="Payment Link",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    # The link's, written with the view so that counting it is one insert.
    company_id = fields.Many2one(comodel_name="res.company", required=True, index=True)
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
