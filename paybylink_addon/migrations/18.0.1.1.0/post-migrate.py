# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Drop the invoice's link columns, copied to ``paybylink.link`` by ``pre-migrate``: the
invoice's fields of the same names now read its working link."""

from odoo.tools import SQL

MOVED_COLUMNS = (
    "paybylink_token",
    "paybylink_sent_at",
    "paybylink_transfer_declared_at",
    "paybylink_paid_at",
    "paybylink_reminder_count",
    "paybylink_last_reminder_at",
    "paybylink_amount",
    "paybylink_partner_bank_id",
    "paybylink_beneficiary_name",
    "paybylink_reference",
    "paybylink_email",
    "paybylink_last_message_id",
)


def migrate(cr, version):
    if not version:
        return
    for column in MOVED_COLUMNS:
        cr.execute(SQL("ALTER TABLE account_move DROP COLUMN IF EXISTS %s", SQL.identifier(column)))
    cr.execute("ALTER TABLE paybylink_visit DROP COLUMN IF EXISTS move_id")
