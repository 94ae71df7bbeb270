# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re
from collections import defaultdict, namedtuple

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, html2plaintext

from .. import const, utils

_logger = logging.getLogger(__name__)

# What is kept of a reference or a bank communication to compare them: letters and digits.
NOT_ALPHANUMERIC_RE = re.compile(r"[^A-Z0-9]")

# The open linked invoices, for matching: their references and their numbers (KeyIndex), and
# each invoice's id to its currency's and customer's ids.
InvoiceKeys = namedtuple("InvoiceKeys", ["references", "numbers", "invoices"])

# References shorter than this are not looked for inside longer text: too likely by chance.
MIN_KEY_LENGTH = 6


def normalize(text):
    """``text`` in capitals without spaces or separators, as banks may rewrite a reference."""
    return NOT_ALPHANUMERIC_RE.sub("", (text or "").upper())


def match_bounds(text):
    """Where, in ``normalize(text)``, a key found may start and end: anywhere but inside a
    number of ``text``, so that "2025-0042" is not found in "INV/2025/00420" nor one reference
    in a longer one, while a bank may still glue letters to a reference ("VIRFAC2026...")."""
    bounds, position, previous = {0}, 0, ""
    for char in (text or "").upper():
        if NOT_ALPHANUMERIC_RE.match(char):
            previous = ""
            continue
        if not (previous.isdigit() and char.isdigit()):
            bounds.add(position)
        previous = char
        position += 1
    bounds.add(position)
    return bounds


class KeyIndex:
    """Normalised keys to the ids of the invoices that bear them, to be found in longer text."""

    def __init__(self):
        self.invoice_ids = {}
        self.lengths = set()

    def add(self, text, invoice_id):
        key = normalize(text)
        if len(key) >= MIN_KEY_LENGTH:
            self.invoice_ids.setdefault(key, set()).add(invoice_id)
            self.lengths.add(len(key))

    def named_in(self, normalized, bounds):
        """The ids of the invoices whose key appears in a text, ``normalized``, between two of
        its ``match_bounds``: a text costs its length times the number of key lengths."""
        found = set()
        for length in self.lengths:
            for start in bounds:
                if start + length in bounds:
                    found |= self.invoice_ids.get(normalized[start : start + length], set())
        return found


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
    def _paybylink_reconcile_company(self, company, invoices=None, batch_size=None, commit=False):
        """Reconcile the company's incoming bank lines with the invoices whose links they pay,
        as the current user (the cron's is a system job's; the button's is an accountant, or a
        billing administrator in sudo mode, see ``account.move.action_paybylink_match_bank_lines``).

        The invoices' references (else their numbers) are looked for in each line's label,
        reference and notes, normalised; a line naming one invoice, in its currency, from its
        customer or from no known partner, is reconciled with it (a part of it, or all of it with
        the surplus left on the line). Anything else is left, with a note saying why. Lines come
        in batches, each reconciled in one go.

        :param invoices: only these invoices, and only the lines that could pay them (the
            button); all open linked ones if None
        :param bool commit: commit each batch (the cron, outside tests)
        :return: the lines reconciled
        """
        batch_size = batch_size or const.BANK_MATCH_BATCH_SIZE
        # Lines are read for every open linked invoice, whatever the selection: a line naming
        # a selected invoice and another is refused, as the cron refuses it.
        with self.env.cr.savepoint():
            keys = self._paybylink_invoice_keys(company)
            payers = None if invoices is None else self._paybylink_invoice_keys(company, invoices)
        reconciled = self.browse()
        if not (keys if payers is None else payers).invoices:
            return reconciled
        after_id = 0
        while True:
            # A batch that fails is undone alone, leaving the transaction usable (and the
            # batches committed before it); committing happens outside the savepoint, which a
            # commit would end.
            with self.env.cr.savepoint():
                lines = self._paybylink_candidate_lines(company, after_id, batch_size, payers)
                pairs, reasons = lines._paybylink_pair_with_invoices(keys)
                if payers is not None:
                    pairs = {
                        line: invoice
                        for line, invoice in pairs.items()
                        if invoice in payers.invoices
                    }
                lines._paybylink_note_unmatched(reasons)
                batch_reconciled = self._paybylink_reconcile_pairs(pairs)
            reconciled |= batch_reconciled
            if len(lines) < batch_size:
                return reconciled
            after_id = lines.ids[-1]
            if commit and utils.can_commit():
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _paybylink_invoice_keys(self, company, invoices=None):
        """The open linked invoices, as plain data that outlives the batches' commits."""
        domain = [
            ("company_id", "=", company.id),
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("paybylink_link_id", "!=", False),
            ("payment_state", "not in", const.CLOSED_PAYMENT_STATES),
        ]
        if invoices is not None:
            domain.append(("id", "in", invoices.ids))
        keys = InvoiceKeys(KeyIndex(), KeyIndex(), {})
        for invoice in self.env["account.move"].search_fetch(
            domain, ["paybylink_reference", "name", "currency_id", "commercial_partner_id"]
        ):
            keys.invoices[invoice.id] = (invoice.currency_id.id, invoice.commercial_partner_id.id)
            keys.references.add(invoice.paybylink_reference, invoice.id)
            keys.numbers.add(invoice.name, invoice.id)
        return keys

    @api.model
    def _paybylink_candidate_lines(self, company, after_id, limit, payers=None):
        """Incoming bank lines not reconciled yet, nor matched before (a match undone by hand
        stays undone), locked (SKIP LOCKED: another run has them). ``FOR NO KEY UPDATE`` is
        enough to keep two runs apart and, unlike ``FOR UPDATE``, lets rows that reference the
        line be inserted meanwhile.

        :param InvoiceKeys payers: only the lines that could pay these invoices: in one of their
            currencies, from one of their customers or from no known partner
        """
        self.flush_model(["is_reconciled", "amount", "paybylink_matched", "partner_id"])
        could_pay = SQL("TRUE")
        if payers is not None:
            could_pay = SQL(
                """COALESCE(line.foreign_currency_id, line.currency_id) IN %s
                   AND (line.partner_id IS NULL OR partner.commercial_partner_id IN %s)""",
                tuple({currency for currency, _customer in payers.invoices.values()}),
                tuple({customer for _currency, customer in payers.invoices.values()}),
            )
        self.env.cr.execute(
            SQL(
                """SELECT line.id
                     FROM account_bank_statement_line line
                     JOIN account_move move ON move.id = line.move_id
                LEFT JOIN res_partner partner ON partner.id = line.partner_id
                    WHERE line.company_id = %s AND line.id > %s
                      AND NOT line.is_reconciled AND line.amount > 0 AND move.state = 'posted'
                      AND NOT COALESCE(line.paybylink_matched, FALSE)
                      AND %s
                 ORDER BY line.id
                    LIMIT %s
                      FOR NO KEY UPDATE OF line SKIP LOCKED""",
                company.id,
                after_id,
                could_pay,
                limit,
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _paybylink_pair_with_invoices(self, keys):
        """Find the one invoice each of these lines pays; nothing is written.

        A line naming several invoices, or one of another currency or customer, is not paired.
        A second line paying an invoice already paired waits for the next run, which sees what
        the first one left due.

        :param InvoiceKeys keys: from ``_paybylink_invoice_keys``
        :return: {line id: invoice id}, and {line: why it is not paired} for lines naming an
            invoice without being paired to it
        :rtype: tuple[dict, dict]
        """
        pairs, reasons, paired = {}, {}, set()
        for line in self:
            communication = (line.payment_ref, line.ref, html2plaintext(line.narration or ""))
            text = " ".join(filter(None, communication))
            normalized, bounds = normalize(text), match_bounds(text)
            named = keys.references.named_in(normalized, bounds) or keys.numbers.named_in(
                normalized, bounds
            )
            if not named:
                continue
            currency = (line.foreign_currency_id or line.currency_id).id
            partner = line.partner_id.commercial_partner_id.id
            invoice_ids = [
                invoice_id
                for invoice_id in named
                if keys.invoices[invoice_id][0] == currency
                and (not partner or keys.invoices[invoice_id][1] == partner)
            ]
            if len(invoice_ids) == 1:
                if invoice_ids[0] not in paired:
                    pairs[line.id] = invoice_ids[0]
                    paired.add(invoice_ids[0])
            elif invoice_ids:
                reasons[line] = self.env._("it names several invoices paid by link")
            else:
                reasons[line] = self.env._("its partner or currency is not the invoice's")
        return pairs, reasons

    def _paybylink_note_unmatched(self, reasons):
        """Say on each line why it was not reconciled, once per reason."""
        new_reasons = {
            line: reason for line, reason in reasons.items() if line.paybylink_match_note != reason
        }
        if not new_reasons:
            return
        for reason in set(new_reasons.values()):
            self.browse(
                line.id for line, line_reason in new_reasons.items() if line_reason == reason
            ).paybylink_match_note = reason
        moves = self.env["account.move"].browse(line.move_id.id for line in new_reasons)
        moves._message_log_batch(
            {
                line.move_id.id: self.env._(
                    "Not reconciled with an invoice paid by link: %(reason)s.", reason=reason
                )
                for line, reason in new_reasons.items()
            },
            message_type="comment",
        )

    @api.model
    def _paybylink_reconcile_pairs(self, pairs):
        """Reconcile each line with its invoice's receivable, all the pairs at once: all the
        line if it pays at most what is due, else what is due, the surplus staying open on it.

        Invoices another transaction is changing, or that got paid meanwhile, are left to the
        next run.

        :param dict pairs: {line id: invoice id}
        :return: the lines reconciled
        """
        if not pairs:
            return self.browse()
        invoices = (
            self.env["account.move"]
            .browse(pairs.values())
            ._paybylink_lock_available()
            .filtered(lambda invoice: not invoice._paybylink_is_closed())
        )
        by_invoice = {invoice_id: line_id for line_id, invoice_id in pairs.items()}
        lines = self.browse(by_invoice[invoice.id] for invoice in invoices)
        try:
            with self.env.cr.savepoint():
                return lines._paybylink_reconcile_with(invoices)
        except (UserError, ValidationError) as error:
            if len(lines) == 1:
                lines._paybylink_note_unmatched({lines: error.args[0]})
                return lines.browse()
        # A pair refused (a deprecated account, say): the others go through one by one.
        return self.browse().union(
            *(
                self._paybylink_reconcile_pairs({line.id: invoice.id})
                for line, invoice in zip(lines, invoices, strict=True)
            )
        )

    def _paybylink_reconcile_with(self, invoices):
        """Reconcile these lines with these invoices, pair by pair, in one reconciliation; the
        items' accounts and partners are set in a few writes for the whole batch."""
        items = self.env["account.move.line"]
        plan, paying_items = [], defaultdict(items.browse)
        bank_items, partnerless = defaultdict(items.browse), defaultdict(self.browse)
        for line, invoice in zip(self, invoices, strict=True):
            receivable = invoice.line_ids.filtered(
                lambda item: item.account_type == "asset_receivable" and not item.reconciled
            )
            paying = line._paybylink_item_paying(invoice, receivable)
            plan.append(paying + receivable)
            customer = invoice.commercial_partner_id
            paying_items[customer, receivable[0].account_id] |= paying
            if not line.partner_id:
                # The line takes the customer: so do its bank item and its entry.
                bank_items[customer] |= line._seek_for_lines()[0]
                partnerless[customer] |= line
        # Only partners and accounts change, no amount: the checks of amounts are skipped, and
        # so is Odoo's synchronisation of the bank lines with their items, which works line by
        # line (and, from a line's partner, rebuilds all its items); what it would copy to the
        # lines and their entries, the customer, is written a group at a time.
        fast = {
            "skip_account_move_synchronization": True,
            "check_move_validity": False,
            "skip_invoice_sync": True,
            "skip_readonly_check": True,
            # Entries are not tracked one by one: the note logged below says it, in one go.
            "tracking_disable": True,
        }
        for (customer, account), group in paying_items.items():
            group.with_context(**fast).write({"partner_id": customer.id, "account_id": account.id})
        for customer, lines in partnerless.items():
            for records in (bank_items[customer], lines, lines.move_id):
                records.with_context(**fast).write({"partner_id": customer.id})
        items.with_context(paybylink_paid_by="bank_transfer")._reconcile_plan(plan)
        invoices.invalidate_recordset(["payment_state", "amount_residual"])
        self.write({"paybylink_matched": True, "paybylink_match_note": False})
        invoices._paybylink_log_bank_payments(self, self.browse().union(*partnerless.values()))
        return self

    def _paybylink_item_paying(self, invoice, receivable):
        """This line's item that pays ``invoice``: its suspense item, or, when the line pays
        more than is due, a part of it split off on the receivable account, the surplus staying
        on the suspense account."""
        self.ensure_one()
        suspense = self._seek_for_lines()[1]
        due = sum(receivable.mapped("amount_residual_currency"))
        paid = -suspense.amount_currency
        if suspense.currency_id.compare_amounts(paid, due) <= 0:
            return suspense
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
                            # Not on the suspense account: a bank line has at most one such item.
                            "account_id": receivable[0].account_id.id,
                            "partner_id": invoice.commercial_partner_id.id,
                            "name": suspense.name,
                            "amount_currency": -due,
                            "balance": suspense.balance * share,
                            "currency_id": suspense.currency_id.id,
                        }
                    ),
                ]
            }
        )
        return self._seek_for_lines()[2].filtered(
            lambda item: item.account_id == receivable[0].account_id
        )
