# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A view's company is now its link's (``paybylink.visit.company_id``, no longer stored): the
column goes, with its foreign key and index, which Odoo leaves behind."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE paybylink_visit DROP COLUMN IF EXISTS company_id")
