# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkBankMatching(PayByLinkCommon):
    """Incoming bank lines are reconciled with the linked invoice they pay, on real statement
    lines in a real database."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank_journal = cls.company_data["default_journal_bank"]

    def setUp(self):
        super().setUp()
        self.send_link(reference="FAC 2026 0042")
        self.total = self.invoice.amount_total

    def bank_line(self, amount=None, **values):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank_journal.id,
                "amount": self.total if amount is None else amount,
                "payment_ref": "VIR SEPA",
                **values,
            }
        )

    def run_matching(self):
        self.env.ref("paybylink_addon.ir_cron_paybylink_reconcile").method_direct_trigger()
        self.invoice.invalidate_recordset()

    def test_an_invoice_in_dispute_is_not_matched(self):
        self.invoice.action_toggle_block_payment()
        line = self.bank_line(payment_ref="VIR FAC 2026 0042")
        self.run_matching()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(self.invoice.payment_state, "blocked")

    def test_reference_in_each_field_and_form(self):
        for values in (
            {"payment_ref": "VIR SEPA M. MARTIN fac-2026-0042 merci"},
            {"payment_ref": "VIR", "narration": "<p>Ref : Fac2026 0042</p>"},
        ):
            with self.subTest(values=values), self.env.cr.savepoint() as savepoint:
                line = self.bank_line(**values)
                self.run_matching()
                self.assertTrue(line.is_reconciled)
                self.assertEqual(self.invoice.payment_state, "paid")
                self.assertEqual(self.invoice.paybylink_state, "paid")
                self.assertEqual(self.invoice.paybylink_link_id.paid_by, "bank_transfer")
                self.assertEqual(line.partner_id, self.customer, "partner set on the line")
                self.assertEqual(line.move_id.partner_id, self.customer)
                self.assertEqual(line._seek_for_lines()[0].partner_id, self.customer)
                notes = "\n".join(self.invoice.message_ids.mapped("body"))
                self.assertIn("reconciled with this invoice", notes)
                self.assertIn(
                    f"Reconciled with invoice {self.invoice.name}, paid by link; its customer",
                    line.move_id.message_ids[0].body,
                )
                savepoint.rollback()

    def test_a_reference_is_not_found_inside_a_longer_number(self):
        # "FAC 2026 0042" is this invoice's reference, "FAC 2026 00421" another's.
        for payment_ref, reconciled in (
            ("VIR FAC 2026 00421", False),
            ("VIR 9FAC 2026-0042", True),
            ("VIRFAC20260042/MARTIN", True),
        ):
            with self.subTest(payment_ref=payment_ref), self.env.cr.savepoint() as savepoint:
                line = self.bank_line(payment_ref=payment_ref)
                self.run_matching()
                self.assertEqual(line.is_reconciled, reconciled)
                savepoint.rollback()

    def test_a_pair_refused_is_noted_and_the_others_reconciled(self):
        # A customer whose receivable account was deprecated after the invoice was posted.
        account = self.company_data["default_account_receivable"].copy({"code": "411900"})
        customer = self.customer.copy({"property_account_receivable_id": account.id})
        refused = self.init_invoice("out_invoice", partner=customer, amounts=[10.0], post=True)
        self.send_link(refused, reference="FAC 2026 0043")
        account.deprecated = True
        refused_line = self.bank_line(amount=refused.amount_total, payment_ref="FAC20260043")
        line = self.bank_line(payment_ref="FAC20260042")
        self.run_matching()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.assertFalse(refused_line.is_reconciled)
        self.assertEqual(refused.payment_state, "not_paid")
        self.assertIn("deprecated", refused_line.paybylink_match_note)
        self.assertFalse(refused_line.partner_id, "nothing half-written")

    def test_invoice_number_as_fallback(self):
        line = self.bank_line(payment_ref=f"Paiement {self.invoice.name}")
        self.run_matching()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice.paybylink_state, "paid")

    def test_less_than_due_is_reconciled_partly_and_stays_in_progress(self):
        line = self.bank_line(amount=self.total - 100, payment_ref="FAC20260042")
        self.run_matching()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertEqual(self.invoice.amount_residual, 100)
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_a_part_paid_then_undone_is_no_longer_in_progress(self):
        line = self.bank_line(amount=self.total / 2, payment_ref="FAC20260042")
        self.run_matching()
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        line.action_undo_reconciliation()  # the accountant undoes it
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.payment_state, "not_paid")
        self.assertEqual(self.invoice.paybylink_state, "not_opened", "never tried to pay")
        # A declared transfer is still evidence of a payment under way.
        self.invoice.paybylink_link_id.sudo()._declare_transfer()
        self.pay(amount=self.total / 2)
        self.env["account.payment"].search(
            [("partner_id", "=", self.customer.id), ("state", "!=", "draft")]
        ).action_draft()
        self.assertEqual(self.invoice.paybylink_state, "in_progress")

    def test_more_than_due_pays_the_invoice_and_leaves_the_surplus_open(self):
        line = self.bank_line(amount=self.total + 50, payment_ref="FAC20260042")
        self.run_matching()
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertFalse(line.is_reconciled)
        self.assertEqual(line.amount_residual, -50)

    def test_ambiguous_or_contradicting_lines_are_left_with_a_note(self):
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.send_link(other, reference="FAC 2026 0043")
        both = self.bank_line(payment_ref="FAC 2026 0042 + FAC 2026 0043")
        stranger = self.env["res.partner"].create({"name": "Someone else"})
        contradicting = self.bank_line(payment_ref="FAC20260042", partner_id=stranger.id)
        self.run_matching()
        self.assertFalse(both.is_reconciled)
        self.assertFalse(contradicting.is_reconciled)
        self.assertEqual(self.invoice.payment_state, "not_paid")
        self.assertIn("several invoices", both.paybylink_match_note)
        self.assertIn("partner or currency", contradicting.paybylink_match_note)
        notes = both.move_id.message_ids
        self.run_matching()  # the same reason is not noted twice
        self.assertEqual(both.move_id.message_ids, notes)

    def test_foreign_currency_line_is_not_matched(self):
        line = self.bank_line(
            payment_ref="FAC20260042",
            foreign_currency_id=self.setup_other_currency("EUR").id,
            amount_currency=self.total,
        )
        self.run_matching()
        self.assertFalse(line.is_reconciled)

    def test_lines_reconciled_by_hand_or_already_matched_are_left_alone(self):
        line = self.bank_line(payment_ref="FAC20260042")
        self.run_matching()
        reconciliation = line.move_id.line_ids.full_reconcile_id
        self.run_matching()
        self.assertEqual(line.move_id.line_ids.full_reconcile_id, reconciliation)
        # Undone by hand: the status follows, and the line is not matched again.
        line.action_undo_reconciliation()
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.run_matching()
        self.assertFalse(line.is_reconciled)

    def test_a_matched_transfer_tells_the_customer_unless_the_company_says_no(self):
        self.bank_line(payment_ref="FAC20260042")
        self.run_matching()
        receipts = self.env["mail.mail"].search(
            [("res_id", "=", self.invoice.id), ("subject", "ilike", "reçu")]
        )
        self.assertEqual(len(receipts), 1)
        self.assertEqual(receipts.recipient_ids, self.customer)
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.send_link(other, reference="FAC 2026 0043")
        self.company.paybylink_send_receipt = False
        self.bank_line(amount=other.amount_total, payment_ref="FAC20260043")
        self.run_matching()
        self.assertEqual(other.paybylink_state, "paid")
        self.assertFalse(
            self.env["mail.mail"].search([("res_id", "=", other.id), ("subject", "ilike", "reçu")])
        )

    def test_paid_by_odoos_own_pay_button_sends_no_receipt(self):
        self.pay()
        self.assertEqual(self.invoice.paybylink_link_id.paid_by, "other")
        self.assertFalse(
            self.env["mail.mail"].search(
                [("res_id", "=", self.invoice.id), ("subject", "ilike", "reçu")]
            )
        )

    def test_button_of_one_invoice(self):
        line = self.bank_line(payment_ref="FAC20260042")
        action = self.invoice.action_paybylink_match_bank_lines()
        self.assertIn("1", action["params"]["message"])
        self.assertTrue(line.is_reconciled)

    def test_button_refuses_a_line_naming_another_invoice_too_as_the_cron_does(self):
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.send_link(other, reference="FAC 2026 0043")
        both = self.bank_line(payment_ref="FAC 2026 0042 + FAC 2026 0043")
        self.invoice.action_paybylink_match_bank_lines()
        self.assertFalse(both.is_reconciled)
        self.assertIn("several invoices", both.paybylink_match_note)
        # A line paying only the other invoice waits for the cron, or for that invoice's button.
        for_other = self.bank_line(amount=other.amount_total, payment_ref="FAC 2026 0043")
        self.invoice.action_paybylink_match_bank_lines()
        self.assertFalse(for_other.is_reconciled)
        other.action_paybylink_match_bank_lines()
        self.assertTrue(for_other.is_reconciled)

    def test_button_needs_the_rights_odoo_requires_to_reconcile(self):
        line = self.bank_line(payment_ref="FAC20260042")
        billing = new_test_user(
            self.env,
            login="billing_only",
            groups="base.group_user,account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        with self.assertRaises(AccessError):
            self.invoice.with_user(billing).action_paybylink_match_bank_lines()
        self.assertFalse(line.is_reconciled)
        accountant = new_test_user(
            self.env,
            login="accountant",
            groups="base.group_user,account.group_account_invoice,account.group_account_user",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        self.invoice.with_user(accountant).action_paybylink_match_bank_lines()
        self.assertTrue(line.is_reconciled)
        partial = line.move_id.line_ids.matched_debit_ids
        self.assertEqual(partial.create_uid, accountant)

    def test_a_billing_administrator_of_plain_invoicing_may_press_it(self):
        # On Odoo's Invoicing alone the billing administrator is the one who reconciles, though
        # no one there may write bank lines: the matching does it as its cron does.
        line = self.bank_line(payment_ref="FAC20260042")
        administrator = new_test_user(
            self.env,
            login="billing_administrator",
            groups="base.group_user,account.group_account_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        self.assertFalse(administrator.has_group("account.group_account_basic"))
        view = self.env["account.move"].with_user(administrator).get_views([(False, "form")])
        arch = view["views"]["form"]["arch"]
        self.assertTrue("action_paybylink_match_bank_lines" in arch, "the button shows")
        self.invoice.with_user(administrator).action_paybylink_match_bank_lines()
        self.assertTrue(line.is_reconciled)
        partial = line.move_id.line_ids.matched_debit_ids
        self.assertEqual(partial.create_uid, administrator, "their reconciliation")

    def test_button_looks_only_at_lines_that_could_pay_the_invoice(self):
        stranger = self.env["res.partner"].create({"name": "Someone else"})
        from_stranger = self.bank_line(payment_ref="FAC20260042", partner_id=stranger.id)
        self.invoice.action_paybylink_match_bank_lines()
        self.assertFalse(from_stranger.paybylink_match_note, "not even read by the button")
        self.run_matching()
        self.assertIn("partner or currency", from_stranger.paybylink_match_note)

    def test_a_declared_transfer_that_does_not_arrive_is_flagged_once(self):
        link = self.invoice.paybylink_link_id.sudo()
        link._declare_transfer()
        self.run_matching()
        self.assertFalse(self.invoice.activity_ids, "declared today: not late")
        link.transfer_declared_at = fields.Datetime.now() - timedelta(days=6)
        self.run_matching()
        (activity,) = self.invoice.activity_ids
        self.assertEqual(activity.summary, "Declared transfer not received")
        self.assertEqual(activity.user_id, self.invoice.invoice_user_id)
        self.run_matching()
        self.assertEqual(len(self.invoice.activity_ids), 1, "once per declaration")
        self.assertIn(
            self.invoice, self.env["account.move"].search([("paybylink_state", "=", "in_progress")])
        )

    def test_one_late_transfer_that_cannot_be_flagged_leaves_the_others_flagged(self):
        other = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0], post=True)
        self.send_link(other, reference="FAC 2026 0043")
        links = (self.invoice | other).paybylink_link_id.sudo()
        for link in links:
            link._declare_transfer()
        links.transfer_declared_at = fields.Datetime.now() - timedelta(days=6)
        ask = type(links)._ask_accountant

        def broken_for_the_first(link, *args):
            if link.move_id == self.invoice:
                raise ValueError("an archived salesperson")
            return ask(link, *args)

        with (
            patch.object(type(links), "_ask_accountant", broken_for_the_first),
            mute_logger("odoo.addons.paybylink_addon.models.paybylink_link"),
        ):
            self.run_matching()
        self.assertEqual(other.activity_ids.summary, "Declared transfer not received")
        self.assertFalse(self.invoice.paybylink_link_id.transfer_chased_at, "tried again next run")
        self.run_matching()
        self.assertEqual(self.invoice.activity_ids.summary, "Declared transfer not received")
