# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""An invoice settled in full by a credit note now stops its link: those reversed before the
upgrade stop now, as they would have then."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    reversed_invoices = env["account.move"].search(
        [("payment_state", "=", "reversed"), ("paybylink_link_id", "!=", False)]
    )
    reversed_invoices._paybylink_stop_reversed()
