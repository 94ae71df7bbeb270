# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark the bank matching cron against Odoo's own batched reconciliation of the same pairs.

For each size N, N open linked invoices and N incoming bank lines without a partner are made
through the ORM in the database made by ``bench/bank_matching``: most lines pay one invoice in
full, some a part of it, some name two invoices (ambiguous) and some name none (noise). The
database is then copied for each contender, so that each starts from the same data:

- the floor: the pairs that should be reconciled are given in advance, and Odoo's own calls
  bring them to the cron's end state as cheaply as Odoo lets them, in the cron's batches of
  lines, committing after each: each line's suspense item put on its invoice's receivable
  account and customer, the customer set on the line, its bank item and its entry (writes
  grouped by customer, with ``FLAGS``), then one ``account.move.line._reconcile_plan`` per batch;
- the bare reconciliation: Odoo's plain way, the suspense items written without those flags and
  the lines left without a customer, which reconciling itself does not need;
- the cron: ``ir_cron_paybylink_reconcile``'s method, which also finds the pairs, leaves notes
  on the lines it cannot match, logs each reconciliation on the invoice and the bank entry, and
  moves the links to Paid.

All run in the same database, with the addon installed: Odoo's hook for paid invoices, which the
addon extends to set the links Paid, runs in each.

Matching alone (finding the pairs, no writes) is timed on the cron's copy first. Each phase runs
in a process of its own, so that its peak memory (RSS) is its own. It prints, per size, lines
matched per second, queries per batch of 200 lines and the peak memory of each, and the ratio
of the cron's time to the floor's and to the bare reconciliation's.

Run by ``bench/bank_matching``; it takes Odoo's command-line options (database, addons path...).
"""

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict

from sql_links import add_working_links

import odoo
from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.service import db as db_service
from odoo.tools import config

GOAL_RATIO = 1.2
GOAL_MATCHING_SECONDS = 10.0
BATCH_SIZE = 200
CUSTOMERS = 50
# One line in 20 names two invoices, one names none, one pays part of its invoice.
AMBIGUOUS, NOISE, PARTIAL = 0, 1, 2
KINDS = 20
# Odoo's flags for writes that change partners only: no checks of amounts, no item-by-item
# synchronisation of the bank lines, the posted entries writable, no tracking one by one.
FLAGS = {
    "skip_account_move_synchronization": True,
    "check_move_validity": False,
    "skip_invoice_sync": True,
    "skip_readonly_check": True,
    "tracking_disable": True,
}
CHUNK = 50
# Invoices are made, and progress is said, this many at a time.
STEP = 500


def progress(what, done, size, started):
    """Say on stderr, every ``STEP`` records and at the last, how far the making of the data
    begun at ``started`` is: it takes most of the run."""
    if done % STEP == 0 or done == size:
        elapsed = time.perf_counter() - started
        print(f"  {elapsed:6.0f} s: {done} of {size} {what} made", file=sys.stderr, flush=True)


def generate(env, size):
    """Make ``size`` invoices with a link and ``size`` bank lines; return each line with the
    invoice it pays, or None, as [(line id, invoice id or None)]."""
    started = time.perf_counter()
    # No chatter for what the benchmark makes: it is not what is measured.
    env = env(context=dict(env.context, tracking_disable=True))
    company = env.company
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
    )
    customers = env["res.partner"].create(
        [{"name": f"Bench customer {number}"} for number in range(CUSTOMERS)]
    )
    today = fields.Date.today()
    invoice_values = [
        {
            # Named in advance: Odoo's numbering looks up the journal's last number for each
            # invoice, a lookup that slows down as the journal fills.
            "name": f"BENCH/{today.year}/{number + 1:05d}",
            "move_type": "out_invoice",
            "partner_id": customers[number % CUSTOMERS].id,
            "invoice_date": today,
            "invoice_line_ids": [
                Command.create({"name": "Service", "price_unit": 100 + number % 900, "tax_ids": []})
            ],
        }
        for number in range(size)
    ]
    invoices = env["account.move"].browse()
    for start in range(0, size, STEP):
        chunk = invoices.create(invoice_values[start : start + STEP])
        chunk.action_post()
        invoices |= chunk
        progress("invoices", len(invoices), size, started)
    add_working_links(env.cr, invoices.ids)
    invoices.invalidate_recordset()
    values = []
    for number, invoice in enumerate(invoices):
        kind = number % KINDS
        amount = invoice.amount_total
        if kind == AMBIGUOUS:
            label = f"VIR {invoice.name} {invoices[number - 1].name}"
        elif kind == NOISE:
            label = f"PRLV SEPA ABONNEMENT {number}"
        else:
            # As banks write it: spaces instead of separators, in lower case.
            label = f"VIR SEPA {invoice.partner_id.name} {invoice.name.replace('/', ' ').lower()}"
            amount = amount - 10 if kind == PARTIAL else amount
        values.append({"journal_id": journal.id, "amount": amount, "payment_ref": label})
    lines = env["account.bank.statement.line"].browse()
    for start in range(0, size, CHUNK):
        # In chunks: each line's creation flushes, and recomputes, what the chunk has pending.
        lines |= lines.create(values[start : start + CHUNK])
        progress("bank lines", len(lines), size, started)
    return [
        (line.id, invoice.id if number % KINDS not in (AMBIGUOUS, NOISE) else None)
        for number, (line, invoice) in enumerate(zip(lines, invoices, strict=True))
    ]


def bare_reconciliation(env, pairs):
    """The floor without the lines' customers: reconciling needs none."""
    return floor(env, pairs, set_customers=False)


def floor(env, pairs, set_customers=True):
    """Odoo's own batched reconciliation of the given pairs, in the cron's batches of lines,
    to the cron's end state: each line's suspense item put on its invoice's receivable account
    and customer (a write per customer and account), the customer set on the lines, their bank
    items and their entries (a write of each per customer), all with the ``FLAGS`` the cron
    uses, then one reconciliation. Without ``set_customers``, the bare reconciliation: the
    suspense items written the plain way, the lines' customers left unset."""
    lines_model, moves = env["account.bank.statement.line"], env["account.move"]
    items = env["account.move.line"]
    # The bare reconciliation writes the plain way; the floor as cheaply as Odoo lets it.
    flags = FLAGS if set_customers else {}
    for start in range(0, len(pairs), BATCH_SIZE):
        batch = [pair for pair in pairs[start : start + BATCH_SIZE] if pair[1]]
        lines = lines_model.browse(line_id for line_id, _invoice_id in batch)
        invoices = moves.browse(invoice_id for _line_id, invoice_id in batch)
        plan, by_account, by_customer = [], defaultdict(items.browse), defaultdict(lines.browse)
        for line, invoice in zip(lines, invoices, strict=True):
            receivable = invoice.line_ids.filtered(
                lambda item: item.account_type == "asset_receivable"
            )
            suspense = line._seek_for_lines()[1]
            by_account[invoice.commercial_partner_id, receivable.account_id] |= suspense
            by_customer[invoice.commercial_partner_id] |= line
            plan.append(suspense + receivable)
        for (customer, account), suspense in by_account.items():
            suspense.with_context(**flags).write(
                {"account_id": account.id, "partner_id": customer.id}
            )
        if set_customers:
            for customer, group in by_customer.items():
                bank_items = items.union(*(line._seek_for_lines()[0] for line in group))
                for records in (bank_items, group, group.move_id):
                    records.with_context(**flags).write({"partner_id": customer.id})
        env["account.move.line"]._reconcile_plan(plan)
        env.cr.commit()
    paid = [line_id for line_id, invoice_id in pairs if invoice_id]
    return lines_model.search_count([("id", "in", paid), ("is_reconciled", "=", True)])


def cron(env, _pairs):
    lines = env["account.bank.statement.line"]
    reconciled_before = lines.search_count([("paybylink_matched", "=", True)])
    env.ref("paybylink_addon.ir_cron_paybylink_reconcile").method_direct_trigger()
    return lines.search_count([("paybylink_matched", "=", True)]) - reconciled_before


def matching(env, _pairs):
    """The cron's matching of every candidate line, without reconciling anything."""
    lines = env["account.bank.statement.line"]
    keys = lines._paybylink_invoice_keys(env.company)
    matched, after_id = 0, 0
    while True:
        batch = lines._paybylink_candidate_lines(env.company, after_id, BATCH_SIZE)
        matched += len(batch._paybylink_pair_with_invoices(keys)[0])
        if len(batch) < BATCH_SIZE:
            return matched
        after_id = batch.ids[-1]


PHASES = {
    "bare": bare_reconciliation,
    "floor": floor,
    "cron": cron,
    "matching": matching,
}


def memory_kb(key, reset_peak=False):
    """This process's memory figure ``key`` from Linux's /proc, in kB; ``reset_peak`` first
    brings its peak (VmHWM) down to what it uses now."""
    if reset_peak:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    with open("/proc/self/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith(f"{key}:"))


def run_phase(phase, pairs):
    """In this process: run ``phase`` on the database; print its figures as JSON."""
    registry = Registry(config["db_name"])
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        rss_before = memory_kb("VmRSS", reset_peak=True)
        queries = cr.sql_log_count
        start = time.perf_counter()
        done = PHASES[phase](env, pairs)
        seconds = time.perf_counter() - start
        queries = cr.sql_log_count - queries
        peak = memory_kb("VmHWM")
        if phase == "matching":
            cr.rollback()
    batches = max(1, -(-len(pairs) // BATCH_SIZE))  # a batch of lines
    print(
        json.dumps(
            {
                "done": done,
                "seconds": seconds,
                "queries_per_batch": queries / batches,
                "peak_mb": (peak - rss_before) / 1024,
            }
        )
    )


def child(phase, database, odoo_args, pairs_file):
    command = [sys.executable, __file__, "--phase", phase, "--pairs", pairs_file, *odoo_args]
    output = subprocess.run([*command, "-d", database], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--pairs", help=argparse.SUPPRESS)
    args, odoo_args = parser.parse_known_args()
    config.parse_config(odoo_args)
    if args.phase:
        with open(args.pairs) as file:
            run_phase(args.phase, json.load(file))
        return 0
    source = config["db_name"]
    print(
        f"{'N':>6} {'pairs':>6} {'setup s':>8}   {'matching s':>10} {'MB':>4}   "
        f"{'bare lines/s':>12}   {'floor lines/s':>13} {'q/batch':>7} {'MB':>4}   "
        f"{'cron lines/s':>12} {'q/batch':>7} {'MB':>4}   {'ratio':>5} {'/bare':>5}"
    )
    db_service.exp_duplicate_database(source, f"{source}_empty", neutralize_database=False)
    ok = True
    for size in (int(size) for size in args.sizes.split(",")):
        start = time.perf_counter()
        with Registry(source).cursor() as cr:
            pairs = generate(api.Environment(cr, SUPERUSER_ID, {}), size)
            paid = sum(1 for _line_id, invoice_id in pairs if invoice_id)
            cr.commit()
        setup = time.perf_counter() - start
        pairs_file = f"{config['data_dir']}/pairs-{size}.json"
        with open(pairs_file, "w") as file:
            json.dump(pairs, file)
        Registry.delete(source)
        odoo.sql_db.close_db(source)
        figures = {}
        for phase in ("bare", "floor", "cron"):
            copy = f"{source}_{phase}_{size}"
            db_service.exp_duplicate_database(source, copy, neutralize_database=False)
            if phase == "cron":
                figures["matching"] = child("matching", copy, odoo_args, pairs_file)
            figures[phase] = child(phase, copy, odoo_args, pairs_file)
            db_service.exp_drop(copy)
        # The next size starts from the same database as this one.
        db_service.exp_drop(source)
        db_service.exp_duplicate_database(f"{source}_empty", source, neutralize_database=False)
        ratio = figures["cron"]["seconds"] / figures["floor"]["seconds"]
        speed = {phase: figures[phase]["done"] / figures[phase]["seconds"] for phase in PHASES}
        print(
            f"{size:>6} {paid:>6} {setup:>8.1f}   "
            f"{figures['matching']['seconds']:>10.2f} {figures['matching']['peak_mb']:>4.0f}   "
            f"{speed['bare']:>12.0f}   "
            + "   ".join(
                f"{speed[phase]:>{width}.0f} "
                f"{figures[phase]['queries_per_batch']:>7.0f} {figures[phase]['peak_mb']:>4.0f}"
                for phase, width in (("floor", 13), ("cron", 12))
            )
            + f"   {ratio:>5.2f} {figures['cron']['seconds'] / figures['bare']['seconds']:>5.2f}"
        )
        ok &= (
            figures["cron"]["done"] == figures["floor"]["done"] == figures["bare"]["done"] == paid
            and ratio <= GOAL_RATIO
            and figures["matching"]["seconds"] < GOAL_MATCHING_SECONDS
        )
    print(
        f"Goals: every pair reconciled by both, the cron at most {GOAL_RATIO} times the floor, "
        f"matching under {GOAL_MATCHING_SECONDS:.0f} s: {'met' if ok else 'NOT met'}."
    )
    db_service.exp_drop(f"{source}_empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
