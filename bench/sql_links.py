# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Links made in SQL for the benchmarks, as many as they need in one statement each."""


def add_working_links(cr, move_ids, sent_at="NOW()"):
    """Give each invoice of ``move_ids`` a working link, "Not opened", sent at the SQL
    expression ``sent_at``, quoting its number as reference."""
    cr.execute(
        f"""INSERT INTO paybylink_link
                (move_id, company_id, token, active, state, sent_at, currency_id, amount,
                 reference, reminder_count, create_date, write_date)
            SELECT id, company_id, md5(random()::text || id) || md5(id::text), TRUE,
                   'not_opened', {sent_at}, currency_id, amount_total, name, 0, NOW(), NOW()
              FROM account_move
             WHERE id = ANY(%s)""",
        [list(move_ids)],
    )
    cr.execute(
        """UPDATE account_move move
              SET paybylink_link_id = link.id, paybylink_state = link.state
             FROM paybylink_link link
            WHERE link.move_id = move.id AND link.active AND move.id = ANY(%s)""",
        [list(move_ids)],
    )
