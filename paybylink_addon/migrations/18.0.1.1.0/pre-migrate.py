# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Links become records of their own (``paybylink.link``).

Before the models load: the link table is made from the invoices' link columns, one working
link per invoice that had one and one stopped link per revoked token, and the invoice, its page
views and its Stripe sessions are pointed at their link. The ORM then adds what it lacks
(constraints, foreign keys); ``post-migrate`` drops the invoice's old columns.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """CREATE TABLE paybylink_link (
               id serial PRIMARY KEY,
               move_id integer NOT NULL,
               company_id integer NOT NULL,
               token varchar NOT NULL,
               active boolean,
               state varchar,
               sent_at timestamp,
               currency_id integer,
               amount numeric,
               partner_bank_id integer,
               beneficiary_name varchar,
               reference varchar,
               email varchar,
               last_message_id integer,
               reminder_count integer,
               last_reminder_at timestamp,
               transfer_declared_at timestamp,
               paid_at timestamp,
               paid_by varchar,
               stopped_at timestamp,
               stop_reason varchar,
               create_uid integer,
               create_date timestamp,
               write_uid integer,
               write_date timestamp
           )"""
    )
    # Revoked tokens first: those links are the older ones. What they carried was reset when
    # they were revoked; their token, invoice and company remain, so their page still answers.
    cr.execute(
        """INSERT INTO paybylink_link
               (move_id, company_id, token, active, stop_reason,
                create_uid, create_date, write_uid, write_date)
           SELECT id, company_id, paybylink_revoked_token, FALSE,
                  CASE WHEN state = 'cancel' THEN 'cancel' ELSE 'draft' END,
                  write_uid, write_date, write_uid, write_date
             FROM account_move
            WHERE paybylink_revoked_token IS NOT NULL
         ORDER BY id"""
    )
    revoked = cr.rowcount
    cr.execute(
        """INSERT INTO paybylink_link
               (move_id, company_id, token, active, state, sent_at, currency_id, amount,
                partner_bank_id, beneficiary_name, reference, email, last_message_id,
                reminder_count, last_reminder_at, transfer_declared_at, paid_at,
                create_uid, create_date, write_uid, write_date)
           SELECT id, company_id, paybylink_token, TRUE, paybylink_state, paybylink_sent_at,
                  currency_id, paybylink_amount, paybylink_partner_bank_id,
                  paybylink_beneficiary_name, paybylink_reference, paybylink_email,
                  paybylink_last_message_id, COALESCE(paybylink_reminder_count, 0),
                  paybylink_last_reminder_at, paybylink_transfer_declared_at, paybylink_paid_at,
                  write_uid, COALESCE(paybylink_sent_at, write_date), write_uid, write_date
             FROM account_move
            WHERE paybylink_token IS NOT NULL
         ORDER BY id"""
    )
    working = cr.rowcount
    cr.execute("ALTER TABLE account_move ADD COLUMN paybylink_link_id integer")
    cr.execute(
        """UPDATE account_move move
              SET paybylink_link_id = link.id
             FROM paybylink_link link
            WHERE link.move_id = move.id AND link.active"""
    )
    # Page views were deleted when a link was revoked: those left are the working link's.
    cr.execute("ALTER TABLE paybylink_visit ADD COLUMN link_id integer")
    cr.execute("ALTER TABLE paybylink_visit ADD COLUMN company_id integer")
    cr.execute(
        """UPDATE paybylink_visit visit
              SET link_id = link.id, company_id = link.company_id
             FROM paybylink_link link
            WHERE link.move_id = visit.move_id AND link.active"""
    )
    cr.execute("DELETE FROM paybylink_visit WHERE link_id IS NULL")
    # A Stripe session belongs to the link that was working when it started: the revoked one if
    # it started before the working link was sent, or if the invoice has no working link.
    cr.execute("ALTER TABLE paybylink_stripe_session ADD COLUMN link_id integer")
    cr.execute(
        """UPDATE paybylink_stripe_session session
              SET link_id = COALESCE(
                      (SELECT old.id FROM paybylink_link old
                        WHERE old.move_id = session.move_id AND NOT old.active
                          AND (working.id IS NULL OR session.create_date < working.sent_at)
                        LIMIT 1),
                      working.id)
             FROM account_move move
        LEFT JOIN paybylink_link working
               ON working.move_id = move.id AND working.active
            WHERE move.id = session.move_id"""
    )
    # How the paid links were paid: online if a Stripe session paid, by transfer if a bank
    # line matched by the addon was reconciled with the invoice, else otherwise.
    cr.execute(
        """UPDATE paybylink_link link
              SET paid_by = CASE
                  WHEN EXISTS (SELECT 1 FROM paybylink_stripe_session session
                                WHERE session.link_id = link.id AND session.state = 'paid')
                  THEN 'online'
                  WHEN EXISTS (
                       SELECT 1
                         FROM account_move_line invoice_line
                         JOIN account_partial_reconcile partial
                           ON invoice_line.id IN (partial.debit_move_id, partial.credit_move_id)
                         JOIN account_move_line paying_line
                           ON paying_line.id IN (partial.debit_move_id, partial.credit_move_id)
                          AND paying_line.id != invoice_line.id
                         JOIN account_bank_statement_line statement_line
                           ON statement_line.move_id = paying_line.move_id
                        WHERE invoice_line.move_id = link.move_id
                          AND statement_line.paybylink_matched)
                  THEN 'bank_transfer'
                  ELSE 'other' END
            WHERE link.state = 'paid'"""
    )
    _logger.info("Payment links moved to paybylink.link: %s working, %s revoked", working, revoked)
