# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark the reminder cron: deciding who is due, and queuing each reminder.

For each size, invoices with a sent link are added to the database made by ``bench/reminders``,
a tenth of them due for a reminder today. It prints the time and SQL queries of the cron's
decision over all of them (its batches of 100), then per reminder the time and queries of the
cron's sending, side by side with Odoo's own ``message_post_with_source`` of the same template
on as many other due invoices, in the same run, taking turns batch by batch: the figures are
medians over these rounds, the ratio the median of each round's. Nothing is committed.

Run by ``bench/reminders``; it takes Odoo's command-line options (database, addons path...).
"""

import argparse
import statistics
import sys
import time

from sql_links import add_working_links

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tools import SQL, config

GOAL_DECIDE_SECONDS = 2.0
GOAL_REMINDER_RATIO = 1.2
BATCH_SIZE = 100
REMINDER_BATCH = 20

# What a clone sets itself; it copies every other column of the demo invoice.
OWN_COLUMNS = ("id", "name", "paybylink_link_id", "paybylink_state", "invoice_date_due")


def add_linked_invoices(env, count):
    """Clone a posted demo invoice ``count`` times in SQL, with a link sent 30 days ago; one in
    ten is due in 3 days, so that the -3 days step falls today. Returns the clones' ids."""
    model = env["account.move"].search(
        [("move_type", "=", "out_invoice"), ("state", "=", "posted")], limit=1
    )
    env.cr.execute(
        SQL("SELECT column_name FROM information_schema.columns WHERE table_name = 'account_move'")
    )
    columns = ", ".join(f'"{name}"' for (name,) in env.cr.fetchall() if name not in OWN_COLUMNS)
    env.cr.execute(
        SQL(
            """INSERT INTO account_move (%(columns)s, name, invoice_date_due)
               SELECT %(columns)s, 'BENCH/' || n,
                      CURRENT_DATE + CASE WHEN mod(n, 10) = 0 THEN 3 ELSE 20 END
                 FROM account_move, generate_series(1, %(count)s) AS n
                WHERE account_move.id = %(model)s
            RETURNING id""",
            columns=SQL(columns),
            count=count,
            model=model.id,
        )
    )
    ids = [row[0] for row in env.cr.fetchall()]
    add_working_links(env.cr, ids, sent_at="NOW() - INTERVAL '30 days'")
    return ids


def measure(env, function):
    """Run ``function()``; return its result, seconds and SQL queries."""
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start, env.cr.sql_log_count - queries


def decide_all(moves, company, today):
    """The cron's decision over every invoice, batch by batch, without sending."""
    due, after_id = moves.browse(), 0
    while True:
        batch = moves._paybylink_due_for_reminder(company, today, after_id, BATCH_SIZE)
        due |= batch
        if len(batch) < BATCH_SIZE:
            return due
        after_id = batch.ids[-1]


def per_batch(env, records, function):
    """Seconds and queries per record of ``function(records)``."""
    _result, seconds, count = measure(env, lambda: function(records))
    return seconds / len(records), count / len(records)


def run(env, size):
    ids = add_linked_invoices(env, size)
    moves = env["account.move"].browse(ids).with_context(mail_notify_force_send=False)
    company = moves[:1].company_id
    today = odoo.fields.Date.context_today(moves)
    env.invalidate_all()
    due, decide_seconds, decide_queries = measure(
        env, lambda: decide_all(moves.browse(), company, today)
    )
    due = due & moves
    template = env.ref("paybylink_addon.mail_template_paybylink_reminder")
    half = len(due) // 2
    ours, odoos = due[:half], due[half : 2 * half]

    def remind(batch):
        batch._paybylink_send_due_reminders()

    def post(batch):
        for move in batch:
            move.message_post_with_source(
                template,
                render_values={"paybylink_url": move.paybylink_url},
                subtype_xmlid="mail.mt_comment",  # emails the customer, a follower of the invoice
            )

    # Both warm up first, then take turns batch by batch, so that neither gets the warmer cache
    # or the emptier tables. Ours is the cron's sending step on a batch it decided and locked.
    per_batch(env, ours[:5], remind)
    per_batch(env, odoos[:5], post)
    ours_figures, odoo_figures = [], []
    for start in range(5, len(ours), REMINDER_BATCH):
        env.invalidate_all()
        ours_figures.append(per_batch(env, ours[start : start + REMINDER_BATCH], remind))
        env.invalidate_all()
        odoo_figures.append(per_batch(env, odoos[start : start + REMINDER_BATCH], post))
    # Medians over the rounds (a batch of each, in turn): one slow batch, on this noisy
    # machine, moves a mean by several hundredths.
    ours_time, ours_queries = map(statistics.median, zip(*ours_figures, strict=True))
    odoo_time, odoo_queries = map(statistics.median, zip(*odoo_figures, strict=True))
    ratio = statistics.median(
        ours[0] / odoo[0] for ours, odoo in zip(ours_figures, odoo_figures, strict=True)
    )
    return {
        "size": size,
        "due": len(due),
        "decide_seconds": decide_seconds,
        "decide_queries": decide_queries,
        "reminder_ms": ours_time * 1000,
        "reminder_queries": ours_queries,
        "odoo_ms": odoo_time * 1000,
        "odoo_queries": odoo_queries,
        "ratio": ratio,
        "rounds": len(ours_figures),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    args, odoo_args = parser.parse_known_args()
    config.parse_config(odoo_args)
    registry = Registry(config["db_name"])
    print(
        f"{'invoices':>9} {'due':>6} {'decide s':>9} {'queries':>8}   "
        f"{'reminder ms':>11} {'queries':>8}   {'Odoo post ms':>12} {'queries':>8} {'ratio':>6} "
        f"{'rounds':>7}"
    )
    ok = True
    for size in (int(size) for size in args.sizes.split(",")):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            figures = run(env, size)
            cr.rollback()
        ratio = figures["ratio"]
        print(
            f"{figures['size']:>9} {figures['due']:>6} {figures['decide_seconds']:>9.3f} "
            f"{figures['decide_queries']:>8}   {figures['reminder_ms']:>11.1f} "
            f"{figures['reminder_queries']:>8.1f}   {figures['odoo_ms']:>12.1f} "
            f"{figures['odoo_queries']:>8.1f} {ratio:>6.2f} {figures['rounds']:>7}"
        )
        ok &= figures["decide_seconds"] < GOAL_DECIDE_SECONDS and ratio <= GOAL_REMINDER_RATIO
    print(
        f"Goals: deciding under {GOAL_DECIDE_SECONDS} s, each reminder at most "
        f"{GOAL_REMINDER_RATIO} times Odoo's own post: {'met' if ok else 'NOT met'}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
