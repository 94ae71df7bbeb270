# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from stdnum import iso11649

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from .common import OTHER_IBAN, PayByLinkCommon, PayByLinkPageCommon


@tagged("post_install", "-at_install")
class TestPaybylinkSendRefusals(PayByLinkCommon):
    """Every refusal says why and leaves the invoice as it was: no link, no email, no status."""

    def assertNothingSent(self, invoice, messages_before):
        self.assertFalse(invoice.paybylink_state)
        self.assertFalse(invoice.paybylink_token)
        self.assertFalse(invoice.paybylink_sent_at)
        self.assertEqual(invoice.message_ids, messages_before)

    def assertSendRefused(self, reason, invoice=None, **values):
        invoice = invoice or self.invoice
        messages_before = invoice.message_ids
        with self.assertRaisesRegex(UserError, reason):
            self.send_link(invoice, **values)
        self.assertNothingSent(invoice, messages_before)

    def test_draft_invoice(self):
        draft = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0])
        self.assertSendRefused("must be posted", draft)

    def test_cancelled_invoice(self):
        cancelled = self.init_invoice("out_invoice", partner=self.customer, amounts=[10.0])
        cancelled.button_cancel()
        self.assertSendRefused("must be posted", cancelled)

    def test_vendor_bill_and_credit_note(self):
        for move_type in ("in_invoice", "out_refund", "out_receipt"):
            with self.subTest(move_type=move_type):
                move = self.init_invoice(
                    move_type, partner=self.customer, amounts=[10.0], post=True
                )
                self.assertSendRefused("Only customer invoices", move)

    def test_paid_invoice(self):
        self.pay(self.invoice)
        self.assertSendRefused("already paid")

    def test_invoice_in_dispute(self):
        self.invoice.action_toggle_block_payment()
        self.assertSendRefused("in dispute")

    def test_partially_paid_invoice_gets_a_link_for_what_remains(self):
        self.pay(self.invoice, amount=100.0)
        due = self.invoice.amount_residual
        self.assertLess(due, self.invoice.amount_total)
        wizard = self.open_send_wizard()
        self.assertEqual(wizard.amount, due)
        wizard.action_send()
        self.assertEqual(self.invoice.paybylink_amount, due)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")

    def test_invoice_paid_while_the_form_was_open(self):
        wizard = self.open_send_wizard()
        self.pay(self.invoice)
        messages_before = self.invoice.message_ids
        with self.assertRaisesRegex(UserError, "already paid"):
            wizard.action_send()
        self.assertNothingSent(self.invoice, messages_before)

    def test_amount_changed_by_a_crafted_call(self):
        context = {"active_model": "account.move", "active_id": self.invoice.id}
        wizard = self.env["paybylink.send.wizard"].with_context(**context).create({"amount": 1.0})
        self.assertEqual(wizard.amount, self.invoice.amount_residual, "not the caller's amount")
        wizard.write({"amount": 1.0})
        self.assertEqual(wizard.amount, 1.0)
        messages_before = self.invoice.message_ids
        with self.assertRaisesRegex(UserError, "always what remains due"):
            wizard.action_send()
        self.assertNothingSent(self.invoice, messages_before)

    def test_bank_account_of_someone_else(self):
        customer_account = self.env["res.partner.bank"].create(
            {"acc_number": OTHER_IBAN, "partner_id": self.customer.id}
        )
        self.assertSendRefused("is not an account of", partner_bank_id=customer_account.id)

    def test_bank_account_of_another_company(self):
        other_company = self.setup_other_company()["company"]
        other_account = self.env["res.partner.bank"].create(
            {"acc_number": OTHER_IBAN, "partner_id": other_company.partner_id.id}
        )
        self.assertSendRefused("is not an account of", partner_bank_id=other_account.id)

    def test_bank_account_not_an_iban(self):
        account = self.env["res.partner.bank"].create(
            {"acc_number": "123456789", "partner_id": self.company.partner_id.id}
        )
        self.assertSendRefused("is not a valid IBAN", partner_bank_id=account.id)

    def test_no_bank_account(self):
        self.assertSendRefused("Choose the company bank account", partner_bank_id=False)

    def test_missing_or_malformed_email(self):
        self.assertSendRefused("Enter the customer's email address", email_to="")
        self.assertSendRefused("Enter the customer's email address", email_to=" ; ")
        for address in ("camille.martin@", "camille martin@example.com", "@example.com"):
            with self.subTest(address=address):
                self.assertSendRefused("is not a valid email address", email_to=address)

    def test_customer_without_email(self):
        self.customer.email = False
        self.assertSendRefused("Enter the customer's email address")

    def test_beneficiary_name_and_reference_limits(self):
        self.assertSendRefused("at most 70 characters", beneficiary_name="x" * 71)
        self.assertSendRefused("Enter the beneficiary name", beneficiary_name="  ")
        self.assertSendRefused("at most 140 characters", reference="r" * 141)
        self.assertSendRefused("Enter the reference", reference="")

    def test_every_problem_is_told_at_once(self):
        with self.assertRaises(UserError) as refusal:
            self.send_link(email_to="nope", beneficiary_name="x" * 71, reference="")
        message = str(refusal.exception)
        for reason in ("not a valid email", "at most 70", "Enter the reference"):
            self.assertIn(reason, message)

    def test_body_without_the_link(self):
        self.assertSendRefused("must contain the payment link", body="<p>Please pay.</p>")

    def test_empty_subject(self):
        self.assertSendRefused("Enter the email subject", subject=" ")

    def test_link_already_sent(self):
        first_form = self.open_send_wizard()
        second_form = self.open_send_wizard()
        first_form.action_send()
        with self.assertRaisesRegex(UserError, "already sent.*Send reminder"):
            self.invoice.action_paybylink_send()
        token, messages_before = self.invoice.paybylink_token, self.invoice.message_ids
        with self.assertRaisesRegex(UserError, "already sent"):
            second_form.action_send()
        self.assertEqual(self.invoice.paybylink_token, token)
        self.assertEqual(self.invoice.message_ids, messages_before)


@tagged("post_install", "-at_install")
class TestPaybylinkCreditorReference(PayByLinkPageCommon, HttpCase):
    """With the company's option, links carry an ISO 11649 creditor reference, everywhere."""

    def setUp(self):
        self.company.paybylink_rf_reference = True
        super().setUp()  # sends the euro invoice's link

    def test_link_gets_a_valid_rf_reference_used_in_page_qr_and_email(self):
        reference = self.invoice.paybylink_reference
        self.assertTrue(iso11649.is_valid(reference), reference)
        self.assertEqual(reference, self.invoice._get_invoice_reference_euro_invoice())
        self.assertIn(reference, self.invoice.paybylink_last_message_id.body)
        html = self.url_open(self.page).text
        self.assertIn(reference, html)
        payload = self.invoice.paybylink_link_id._get_qr_payload().split("\n")
        self.assertEqual(payload[9], iso11649.compact(reference), "structured QR reference")

    def test_an_rf_reference_already_on_the_invoice_is_kept(self):
        invoice = self.init_invoice("out_invoice", partner=self.customer, amounts=[10], post=True)
        invoice.payment_reference = "RF18 5390 0754 7034"
        self.assertEqual(self.open_send_wizard(invoice).reference, "RF18 5390 0754 7034")

    def test_rf_reference_with_wrong_check_digits_is_refused(self):
        invoice = self.init_invoice("out_invoice", partner=self.customer, amounts=[10], post=True)
        with self.assertRaisesRegex(UserError, "check digits are wrong"):
            self.send_link(invoice, reference="RF19 5390 0754 7034")
        self.assertFalse(invoice.paybylink_state)
