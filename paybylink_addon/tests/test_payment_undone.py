# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkPaymentUndone(PayByLinkCommon):
    """Any payment makes the link "Paid"; undoing it returns to what the evidence supports."""

    def setUp(self):
        super().setUp()
        self.send_link()

    def payment(self):
        return self.env["account.payment"].search(
            [("partner_id", "=", self.customer.id), ("state", "!=", "draft")]
        )

    def test_payment_registered_by_hand_then_undone(self):
        self.pay()
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.assertTrue(self.invoice.paybylink_paid_at)
        self.payment().action_draft()  # the accountant undoes it
        self.assertEqual(self.invoice.payment_state, "not_paid")
        self.assertEqual(self.invoice.paybylink_state, "not_opened", "never tried to pay")
        self.assertFalse(self.invoice.paybylink_paid_at)
        self.assertIn("payment was undone", self.invoice.message_ids[0].body)
        self.assertIn(f"/paybylink/{self.invoice.paybylink_token}", self.invoice.paybylink_url)
        # Paid again: "Paid" again.
        self.pay()
        self.assertEqual(self.invoice.paybylink_state, "paid")

    def test_unreconciled_after_a_declared_transfer_is_in_progress_again(self):
        self.invoice.paybylink_link_id.sudo()._declare_transfer()
        self.pay()
        receivable = self.invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        receivable.remove_move_reconcile()
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_one_of_two_payments_undone_leaves_a_payment_under_way(self):
        self.pay(amount=self.invoice.amount_total / 2)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.pay()
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.payment().sorted("id")[-1].action_draft()
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_undoing_an_unrelated_reconciliation_changes_nothing(self):
        self.pay()
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.pay(other)
        self.payment().filtered(
            lambda payment: other in payment.reconciled_invoice_ids
        ).action_draft()
        self.assertEqual(self.invoice.paybylink_state, "paid")

    def test_a_credit_note_settling_the_invoice_stops_its_link(self):
        link = self.invoice.paybylink_link_id
        # The accountant's "Credit Note" for the whole invoice, then its posting: Odoo
        # reconciles it with the invoice it reverses.
        action = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=self.invoice.ids)
            .create({"journal_id": self.invoice.journal_id.id, "reason": "Erreur de prix"})
            .refund_moves()
        )
        self.env["account.move"].browse(action["res_id"]).action_post()
        self.assertEqual(self.invoice.payment_state, "reversed")
        self.assertFalse(link.active)
        self.assertEqual(link.stop_reason, "reversed")
        self.assertFalse(self.invoice.paybylink_link_id)
        self.assertFalse(self.invoice.paybylink_state)
        self.assertIn("credit note settles the invoice", self.invoice.message_ids[0].body)
        working, sent = self.env["paybylink.link"]._find_by_token(link.token)
        self.assertFalse(working, "its page no longer offers to pay")
        self.assertEqual(sent, link)
        self.assertFalse(link._can_renew())

    def test_a_partial_credit_note_leaves_the_link_working(self):
        reversal = self.invoice._reverse_moves()
        reversal.invoice_line_ids.price_unit /= 4
        reversal.action_post()  # Odoo reconciles a credit note with the invoice it reverses
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertTrue(self.invoice.paybylink_link_id.active)
