# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

import stripe

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .. import const

_logger = logging.getLogger(__name__)


class PaybylinkStripeEvent(models.Model):
    """A Stripe event handled: its id is recorded in the transaction of its effect, so that an
    event sent twice, even at the same time, has its effect once."""

    _name = "paybylink.stripe.event"
    _description = "Payment Link Stripe Event"
    _order = "id desc"
    _rec_name = "stripe_event_id"
    _check_company_auto = True

    stripe_event_id = fields.Char(string="Stripe Event ID", required=True, readonly=True)
    event_type = fields.Char(string="Type", required=True, readonly=True)
    session_id = fields.Many2one(
        comodel_name="paybylink.stripe.session",
        string="Stripe Session",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(related="session_id.company_id", store=True)

    _sql_constraints = [
        (
            "stripe_event_id_unique",
            "UNIQUE(stripe_event_id)",
            "A Stripe event is handled once.",
        ),
    ]

    @api.model
    def _paybylink_process_webhook(self, payload, signature):
        """Verify and handle one webhook call from Stripe.

        :param bytes payload: the request's raw body, as signed by Stripe
        :param str signature: the ``Stripe-Signature`` header
        :return: the HTTP status to answer and a short text saying why
        :rtype: tuple[int, str]
        """
        companies = self._paybylink_signing_companies(payload, signature)
        if not companies:
            return 400, "invalid signature"
        event = self._paybylink_read_event(payload)
        if not event:
            # Signed, so Stripe's: sending it again would not make it readable.
            _logger.warning("Signed Stripe event of an unexpected shape; ignored")
            return 200, "ignored: unreadable event"
        event_id, event_type, stripe_object = event
        if event_type not in const.STRIPE_HANDLED_EVENTS:
            return 200, "ignored: event type not needed"
        metadata = stripe_object.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(stripe_object.get("id"), str):
            return 200, "ignored: not a payment link's session"
        if metadata.get("paybylink_database") != self.env.cr.dbname:
            return 200, "ignored: not a payment of this database"
        session = self._paybylink_session_of(event_type, stripe_object, companies)
        if not session:
            _logger.warning("Stripe event %s names an unknown session; ignored", event_id)
            return 200, "ignored: unknown session"
        try:
            with self.env.cr.savepoint():
                # The link first, as everywhere (paybylink.link): the claim references the
                # session, which the link's holder may have to lock for a key update.
                session.link_id._lock()
                if not self._paybylink_claim(event_id, event_type, session):
                    return 200, "duplicate: already handled"
                if event_type == "payment_intent.payment_failed":
                    session._paybylink_record_decline(stripe_object)
                else:
                    session._paybylink_apply(stripe_object, event_type)
        except UserError as error:
            # Not recorded: Stripe sends the event again later, once the cause is fixed.
            _logger.error("Stripe event %s could not be handled: %s", event_id, error)
            return 503, "not handled yet"
        return 200, "handled"

    @api.model
    def _paybylink_read_event(self, payload):
        """The id, type and object of the event ``payload`` holds, or None when it is not an
        event of that shape (whatever it is: any JSON, nested to any depth).

        :rtype: tuple[str, str, dict] | None
        """
        try:
            event = json.loads(payload)
        except (ValueError, RecursionError):
            return None
        if not isinstance(event, dict):
            return None
        data = event.get("data")
        stripe_object = data.get("object") if isinstance(data, dict) else None
        if not (
            isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(stripe_object, dict)
        ):
            return None
        return event["id"], event["type"], stripe_object

    @api.model
    def _paybylink_signing_companies(self, payload, signature):
        """The companies whose webhook secret signed ``payload`` within the tolerance.

        Companies without a secret never accept an event: the check is never skipped. Stripe
        signs UTF-8 text; anything else is signed by no one (the SDK would fail decoding it).
        """
        if not isinstance(signature, str):
            return self.env["res.company"]
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            return self.env["res.company"]
        companies = (
            self.env["res.company"]
            .sudo()
            .search([("paybylink_stripe_webhook_secret", "!=", False)])
        )
        signing = companies.browse()
        for company in companies:
            try:
                stripe.WebhookSignature.verify_header(
                    payload,
                    signature,
                    company.paybylink_stripe_webhook_secret,
                    tolerance=const.STRIPE_WEBHOOK_TOLERANCE,
                )
            except stripe.SignatureVerificationError:
                continue
            signing |= company
        return signing

    @api.model
    def _paybylink_session_of(self, event_type, stripe_object, companies):
        """The session (sudo) an event is about: a Checkout Session's by its id; a payment
        intent's by its id once recorded, else the invoice's latest open attempt (the intent of
        a first try is not on the session yet)."""
        sessions = self.env["paybylink.stripe.session"].sudo()
        in_companies = [("company_id", "in", companies.ids)]
        if not event_type.startswith("payment_intent."):
            return sessions.search(
                [("stripe_session_id", "=", stripe_object["id"]), *in_companies], limit=1
            )
        session = sessions.search(
            [("payment_intent_id", "=", stripe_object["id"]), *in_companies], limit=1
        )
        invoice_id = str(stripe_object["metadata"].get("paybylink_invoice_id") or "")
        if session or not invoice_id.isdigit():
            return session
        return sessions.search(
            [("move_id", "=", int(invoice_id)), ("state", "=", "open"), *in_companies],
            order="id desc",
            limit=1,
        )

    @api.model
    def _paybylink_claim(self, event_id, event_type, session):
        """Record ``event_id`` as handled, unless it already is.

        A concurrent transaction handling the same event makes this one wait, then fail with a
        serialization error that Odoo retries; the retry sees the event as handled.

        :return: whether this transaction handles the event
        """
        self.env.cr.execute(
            SQL(
                """INSERT INTO paybylink_stripe_event
                       (stripe_event_id, event_type, session_id, company_id,
                        create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, %s, %s,
                           %s, NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC')
              ON CONFLICT (stripe_event_id) DO NOTHING
                RETURNING id""",
                event_id,
                event_type,
                session.id,
                session.company_id.id,
                self.env.uid,
                self.env.uid,
            )
        )
        return bool(self.env.cr.fetchone())
