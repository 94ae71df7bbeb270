# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    def unlink(self):
        # EXTENDS account: a payment undone (unreconciled, reset to draft, cancelled) takes the
        # link out of "Paid", or of "Payment in progress" for a part paid, when the evidence
        # left no longer supports it.
        linked = (self.debit_move_id.move_id | self.credit_move_id.move_id).filtered(
            lambda move: move.paybylink_state in ("paid", "in_progress")
        )
        res = super().unlink()
        linked.paybylink_link_id.sudo()._payment_undone()
        return res
