# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def _reconcile_post_hook(self, data):
        # EXTENDS account: an invoice a credit note settles in full (Odoo's "reversed") asks for
        # nothing more; its link stops, as for a cancelled invoice, and its page says so.
        res = super()._reconcile_post_hook(data)
        data["not_paid_invoices"]._paybylink_stop_reversed()
        return res
