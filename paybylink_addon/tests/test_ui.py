# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged

from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkUi(PayByLinkCommon, HttpCase):
    """The back office as an accountant uses it, in a real browser."""

    def test_send_a_link_from_the_invoice_form(self):
        self.start_tour(
            f"/odoo/action-account.action_move_out_invoice_type/{self.invoice.id}",
            "paybylink_send_tour",
            login=self.env.user.login,
        )
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.assertEqual(self.invoice.paybylink_email, "camille.martin@example.com")
        self.assertTrue(self.invoice.paybylink_last_message_id)
