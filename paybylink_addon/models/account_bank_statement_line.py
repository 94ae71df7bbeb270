# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re

from odoo import Command, api, fields, models
from odoo.tools import SQL, html2plaintext

from .. import utils

_logger = logging.getLogger(__name__)

# What is kept of a reference or a bank communication to compare them: letters and digits.
NOT_ALPHANUMERIC_RE = re.compile(r"[^A-Z0-9]")

# References shorter than this are not looked for inside longer text: too likely by chance.
MIN_KEY_LENGTH = 6


def normalize(text):
    """``text`` in capitals without spaces or separators, as banks may rewrite a reference."""
    return NOT_ALPHANUMERIC_RE.sub("", (text or "").upper())


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    paybylink_matched = fields.Boolean(
        string="Matched to a Payment Link",
        readonly=True,
        copy=False,
        help="Reconciled once by the payment link matching: if that is undone by hand, the line "
        "is not matched again.",
    )
    paybylink_match_note = fields.Char(
        string="Payment Link Matching",
        readonly=True,
        copy=False,
        help="Why this incoming line was not reconciled with an invoice paid by link.",
    )

    @api.model
    def _paybylink_reconcile_company(self, company, invoices=None, batch_size=200):
        """Reconcile the company's incoming bank lines with the invoices whose links they pay.

        The invoices' references (else their numbers) are looked for in each line's label,
        reference and notes, normalised; a line naming one invoice, in its currency, from its
        customer or from no known partner, is reconciled with it (a part of it, or all of it with
        the surplus left on the line). Anything else is left, with a note saying why.

        :param invoices: only these invoices (the invoice's button); all open linked ones if None
        :return: the lines reconciled
        """
        keys = self._paybylink_invoice_keys(company, invoices)
        reconciled = self.browse()
        if not any(keys):
            return reconciled
        after_id = 0
        while True:
            lines = self._paybylink_candidate_lines(company, after_id, batch_size)
            for line in lines:
                reconciled |= line._paybylink_match(keys)
            if len(lines) < batch_size:
                return reconciled
            after_id = lines.ids[-1]
            if utils.can_commit():
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _paybylink_invoice_keys(self, company, invoices=None):
        """The normalised references and numbers of the open linked invoices, each to the
        invoices that bear it."""
        domain = [
            ("company_id", "=", company.id),
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("paybylink_token", "!=", False),
            ("payment_state", "not in", ("paid", "in_payment", "reversed")),
        ]
        if invoices is not None:
            domain.append(("id", "in", invoices.ids))
        by_reference, by_number = {}, {}
        for invoice in (
            self.env["account.move"].sudo().search_fetch(domain, ["paybylink_reference", "name"])
        ):
            for keys, text in (
                (by_reference, invoice.paybylink_reference),
                (by_number, invoice.name),
            ):
                key = normalize(text)
                if len(key) >= MIN_KEY_LENGTH:
                    keys.setdefault(key, self.env["account.move"].sudo())
                    keys[key] |= invoice
        return by_reference, by_number

    @api.model
    def _paybylink_candidate_lines(self, company, after_id, limit):
        """Incoming bank lines not reconciled yet, nor matched before (a match undone by hand
        stays undone), locked (SKIP LOCKED: another run has them)."""
        self.flush_model(["is_reconciled", "amount", "paybylink_matched"])
        self.env.cr.execute(
            SQL(
                """SELECT line.id
                     FROM account_bank_statement_line line
                     JOIN account_move move ON move.id = line.move_id
                    WHERE line.company_id = %s AND line.id > %s
                      AND NOT line.is_reconciled AND line.amount > 0 AND move.state = 'posted'
                      AND NOT COALESCE(line.paybylink_matched, FALSE)
                 ORDER BY line.id
                    LIMIT %s
                      FOR UPDATE OF line SKIP LOCKED""",
                company.id,
                after_id,
                limit,
            )
        )
        return self.sudo().browse(row[0] for row in self.env.cr.fetchall())

    def _paybylink_match(self, keys):
        """Reconcile this line with the one invoice it pays, or note why not.

        :return: this line if reconciled, else an empty recordset
        """
        self.ensure_one()
        communication = (self.payment_ref, self.ref, html2plaintext(self.narration or ""))
        text = normalize(" ".join(filter(None, communication)))
        invoices = self._paybylink_invoices_named(text, keys[0]) or self._paybylink_invoices_named(
            text, keys[1]
        )
        if not invoices:
            return self.browse()
        currency = self.foreign_currency_id or self.currency_id
        invoices = invoices.filtered(lambda invoice: invoice.currency_id == currency)
        partner = self.partner_id.commercial_partner_id
        if partner:
            invoices = invoices.filtered(lambda invoice: invoice.commercial_partner_id == partner)
        if len(invoices) != 1:
            reason = (
                self.env._("it names several invoices paid by link")
                if invoices
                else self.env._("its partner or currency is not the invoice's")
            )
            self._paybylink_note_unmatched(reason)
            return self.browse()
        self._paybylink_reconcile_with(invoices)
        return self

    @api.model
    def _paybylink_invoices_named(self, text, keys):
        """The invoices whose key appears in ``text``: every substring of a key's length is
        looked up, so a line costs its length times the number of key lengths."""
        found = self.env["account.move"].sudo()
        for length in {len(key) for key in keys}:
            for start in range(len(text) - length + 1):
                found |= keys.get(text[start : start + length], found.browse())
        return found

    def _paybylink_note_unmatched(self, reason):
        self.ensure_one()
        if self.paybylink_match_note != reason:
            self.paybylink_match_note = reason
            self.move_id.message_post(
                body=self.env._(
                    "Not reconciled with an invoice paid by link: %(reason)s.", reason=reason
                ),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )

    def _paybylink_reconcile_with(self, invoice):
        """Reconcile this line with ``invoice``'s receivable: all the line if it pays at most
        what is due, else what is due, the surplus staying open on the line."""
        self.ensure_one()
        if not self.partner_id:
            # Set first: changing the partner rebuilds the line's journal items.
            self.partner_id = invoice.commercial_partner_id
        _liquidity, suspense, _other = self._seek_for_lines()
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable" and not line.reconciled
        )
        due = sum(receivable.mapped("amount_residual_currency"))
        paid = -suspense.amount_currency
        counterpart = {
            "account_id": receivable[0].account_id.id,
            "partner_id": invoice.commercial_partner_id.id,
        }
        if suspense.currency_id.compare_amounts(paid, due) > 0:
            # More than due: the invoice's part goes to its receivable, the rest stays open.
            share = due / paid
            self.move_id.with_context(skip_readonly_check=True).write(
                {
                    "line_ids": [
                        Command.update(
                            suspense.id,
                            {
                                "amount_currency": -(paid - due),
                                "balance": suspense.balance * (1 - share),
                            },
                        ),
                        Command.create(
                            {
                                **counterpart,
                                "name": suspense.name,
                                "amount_currency": -due,
                                "balance": suspense.balance * share,
                                "currency_id": suspense.currency_id.id,
                            }
                        ),
                    ]
                }
            )
            to_reconcile = self._seek_for_lines()[2].filtered(
                lambda line: line.account_id == receivable[0].account_id
            )
        else:
            suspense.write(counterpart)
            to_reconcile = suspense
        (to_reconcile + receivable).reconcile()
        invoice.invalidate_recordset(["payment_state", "amount_residual"])
        self.write({"paybylink_matched": True, "paybylink_match_note": False})
        invoice_in_lang = invoice._paybylink_in_company_lang()
        invoice_in_lang.message_post(
            body=invoice_in_lang.env._(
                "Bank line %(label)s of %(date)s (%(amount)s) reconciled with this invoice.",
                label=self.payment_ref or self.ref or self.id,
                date=self.date,
                amount=self.currency_id.format(self.amount),
            ),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        if invoice.payment_state == "partial":
            invoice_in_lang._paybylink_update_state(
                "in_progress",
                invoice_in_lang.env._("A bank transfer paid part of the invoice; the rest is due."),
            )
