# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.util

from odoo.modules.module import get_module_path
from odoo.tests import tagged

from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkMigrations(PayByLinkCommon):
    """The upgrade scripts run on this database's schema, with the data the previous version
    left: the views of the links it counted keep counting."""

    def setUp(self):
        super().setUp()
        self.send_link()
        self.link = self.invoice.paybylink_link_id
        for _view in range(3):
            self.link._record_visit()
        self.env.flush_all()

    def migrate(self, version):
        """Run ``migrations/<version>/post-migrate.py`` as Odoo's upgrade does, from the
        version before."""
        path = f"{get_module_path('paybylink_addon')}/migrations/{version}/post-migrate.py"
        spec = importlib.util.spec_from_file_location(f"paybylink_migrate_{version}", path)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()

    def visit_columns(self):
        self.env.cr.execute(
            """SELECT column_name FROM information_schema.columns
                WHERE table_name = 'paybylink_visit'"""
        )
        return {column for (column,) in self.env.cr.fetchall()}

    def test_18_0_1_2_0_marks_the_first_view_each_link_had(self):
        # 18.0.1.1.0 counted views without marking the first.
        self.env.cr.execute("UPDATE paybylink_visit SET first_view_link_id = NULL")
        self.migrate("18.0.1.2.0")
        visits = self.link.visit_ids
        self.assertEqual(len(visits), 3)
        self.assertEqual(visits.filtered("first_view_link_id"), visits[0])
        self.assertEqual(self.link.opened_at, visits[0].visited_at)
        self.migrate("18.0.1.2.0")
        self.assertEqual(len(visits.filtered("first_view_link_id")), 1, "run again: no change")

    def test_18_0_1_3_0_drops_the_views_company_column_and_keeps_the_views(self):
        # 18.0.1.2.0 stored the link's company with each view, with its foreign key.
        self.env.cr.execute(
            """ALTER TABLE paybylink_visit
                 ADD COLUMN company_id integer REFERENCES res_company(id) ON DELETE RESTRICT;
               UPDATE paybylink_visit visit SET company_id = link.company_id
                 FROM paybylink_link link WHERE link.id = visit.link_id"""
        )
        self.migrate("18.0.1.3.0")
        self.assertNotIn("company_id", self.visit_columns())
        self.assertEqual(self.link.open_count, 3)
        self.assertEqual(self.link.visit_ids.company_id, self.company, "the link's company")
        self.link._record_visit()
        self.assertEqual(self.link.open_count, 4, "a view still counts")
        self.migrate("18.0.1.3.0")
        self.assertNotIn("company_id", self.visit_columns(), "run again: no error")

    def test_18_0_1_4_0_stops_the_links_of_invoices_a_credit_note_settled(self):
        # 18.0.1.3.0 left the link of an invoice reversed in full working.
        self.invoice._reverse_moves(cancel=True)
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE paybylink_link SET active = TRUE, stopped_at = NULL, stop_reason = NULL
                WHERE id = %(link)s;
               UPDATE account_move SET paybylink_link_id = %(link)s WHERE id = %(move)s""",
            {"link": self.link.id, "move": self.invoice.id},
        )
        self.env.invalidate_all()
        self.assertTrue(self.invoice.paybylink_link_id)
        self.migrate("18.0.1.4.0")
        self.assertFalse(self.link.active)
        self.assertEqual(self.link.stop_reason, "reversed")
        self.assertFalse(self.invoice.paybylink_link_id)
        self.assertEqual(len(self.link.visit_ids), 3, "its views kept")
        self.migrate("18.0.1.4.0")
        self.assertFalse(self.invoice.paybylink_link_id, "run again: no change")
