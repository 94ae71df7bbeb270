# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
import logging
from datetime import UTC, datetime, timedelta

import psycopg2
import stripe

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.misc import hmac

from odoo.addons.payment import utils as payment_utils

from .. import const, utils

_logger = logging.getLogger(__name__)


class PaybylinkStripeSession(models.Model):
    """One attempt of a customer to pay an invoice online: a Stripe Checkout Session.

    Its status only moves forward (``const.STRIPE_SESSION_TRANSITIONS``) and only on what Stripe
    says, read from a signed event or from Stripe's API, never from the customer's browser.
    """

    _name = "paybylink.stripe.session"
    _description = "Payment Link Stripe Checkout Session"
    _order = "id desc"
    _check_company_auto = True
    _rec_name = "stripe_session_id"

    link_id = fields.Many2one(
        comodel_name="paybylink.link",
        string="Payment Link",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    move_id = fields.Many2one(related="link_id.move_id", store=True, index=True, string="Invoice")
    company_id = fields.Many2one(related="link_id.company_id", store=True, index=True)
    stripe_session_id = fields.Char(string="Stripe Checkout Session", required=True, readonly=True)
    attempt_ref = fields.Char(
        string="Attempt Reference",
        required=True,
        readonly=True,
        help="Names this attempt in the customer's return address and in its idempotency key.",
    )
    state = fields.Selection(
        selection=const.STRIPE_SESSION_STATES,
        string="Status",
        required=True,
        readonly=True,
        default="open",
        index=True,
    )
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one(comodel_name="res.currency", readonly=True, required=True)
    checkout_url = fields.Char(string="Checkout Page", readonly=True)
    expires_at = fields.Datetime(string="Expires On", readonly=True)
    payment_intent_id = fields.Char(string="Stripe Payment Intent", readonly=True)
    payment_id = fields.Many2one(
        comodel_name="account.payment", readonly=True, ondelete="restrict", check_company=True
    )
    synced_at = fields.Datetime(
        string="Last News From Stripe", readonly=True, help="When Stripe last told us about it."
    )
    polled_at = fields.Datetime(
        string="Last Asked Of Stripe",
        readonly=True,
        help="When the cron last asked Stripe about it, whatever the answer.",
    )
    decline_reason = fields.Char(
        string="Declined Because",
        readonly=True,
        help="Why Stripe declined the customer's last try, and with which payment method.",
    )
    poll_error = fields.Char(
        string="Polling Failure", readonly=True, help="Why the cron's last question failed."
    )

    _sql_constraints = [
        (
            "stripe_session_id_unique",
            "UNIQUE(stripe_session_id)",
            "A Stripe Checkout Session is recorded once.",
        ),
        ("attempt_ref_unique", "UNIQUE(attempt_ref)", "An attempt reference is unique."),
        ("payment_id_unique", "UNIQUE(payment_id)", "A payment belongs to one Stripe session."),
    ]

    # === BUSINESS METHODS - STARTING A CHECKOUT === #

    @api.model
    def _paybylink_create_checkout(self, link):
        """Create a Stripe Checkout Session for what ``link``'s invoice still has due, and
        record it.

        Stripe is called holding no lock, so that a slow Stripe keeps no payment, webhook or
        page waiting; the attempt is named after what the customer was offered
        (``_paybylink_next_attempt``), so that presses at once make one session at Stripe
        (idempotency key), and the link is locked only to record it, once.

        :param link: the link (sudo)
        :return: the session
        :raise stripe.StripeError: if Stripe cannot be reached or refuses; nothing is recorded
        """
        invoice = link.move_id
        company = link.company_id
        currency = invoice.currency_id
        amount = invoice.amount_residual
        attempt_ref, expires_at = self._paybylink_next_attempt(link, amount)
        return_url = f"{link.url}?attempt={attempt_ref}"
        metadata = self._paybylink_metadata(link)
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.name.lower(),
                        "unit_amount": payment_utils.to_minor_currency_units(amount, currency),
                        "product_data": {
                            "name": self.env._("Invoice %(name)s", name=invoice.name),
                        },
                    },
                }
            ],
            "allowed_payment_method_types": company._paybylink_stripe_payment_method_codes(),
            "client_reference_id": invoice.name,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": return_url,
            "cancel_url": return_url,
            "expires_at": int(expires_at.timestamp()),
            "locale": "auto",
        }
        if emails := invoice._paybylink_split_emails(link.email):
            params["customer_email"] = emails[0]
        stripe_session = company._paybylink_stripe_client().v1.checkout.sessions.create(
            params, options={"idempotency_key": f"paybylink-checkout-{attempt_ref}"}
        )
        link._lock()
        if recorded := self.search([("stripe_session_id", "=", stripe_session.id)]):
            return recorded
        return self.create(
            {
                "link_id": link.id,
                "stripe_session_id": stripe_session.id,
                "attempt_ref": attempt_ref,
                "amount": amount,
                "currency_id": currency.id,
                "checkout_url": stripe_session.url,
                "expires_at": datetime.fromtimestamp(stripe_session.expires_at, UTC).replace(
                    tzinfo=None
                ),
                "synced_at": fields.Datetime.now(),
            }
        )

    @api.model
    def _paybylink_next_attempt(self, link, amount):
        """The reference and expiry of the next online payment attempt of ``link``, the same
        for every request that offers it within the same minute: named by the link, the
        attempts it had so far, the amount and the minute (an HMAC, so that no one can guess
        it), expiring the company's time after that minute (within Stripe's bounds).

        :return: the attempt's reference and its expiry
        :rtype: tuple[str, datetime.datetime]
        """
        minute = fields.Datetime.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        minutes = min(
            link.company_id.paybylink_stripe_checkout_minutes,
            const.STRIPE_CHECKOUT_MAX_MINUTES - 1,
        )
        attempt_ref = hmac(
            self.env(su=True),
            const.STRIPE_ATTEMPT_SCOPE,
            (link.id, len(link.stripe_session_ids), str(amount), minute.isoformat()),
        )[: const.STRIPE_ATTEMPT_REF_LENGTH]
        return attempt_ref, minute + timedelta(minutes=minutes)

    @api.model
    def _paybylink_metadata(self, link):
        """What tells, in Stripe's dashboard and events, which link of which invoice of which
        database a payment is for. The link is named by a digest: its token opens the page."""
        invoice = link.move_id
        return {
            "paybylink_database": self.env.cr.dbname,
            "paybylink_company_id": str(invoice.company_id.id),
            "paybylink_invoice_id": str(invoice.id),
            "paybylink_invoice": invoice.name,
            "paybylink_link": hashlib.sha256(link.token.encode()).hexdigest()[:16],
        }

    def _paybylink_is_reusable(self):
        """Whether the customer can be sent back to this open session rather than a new one: it
        asks what is still due and leaves time to pay."""
        self.ensure_one()
        invoice = self.move_id
        return (
            self.state == "open"
            and self.currency_id == invoice.currency_id
            and not self.currency_id.compare_amounts(self.amount, invoice.amount_residual)
            and self.expires_at
            > fields.Datetime.now() + timedelta(minutes=const.STRIPE_REUSE_MARGIN_MINUTES)
        )

    # === BUSINESS METHODS - STRIPE'S NEWS === #

    def _paybylink_read_at_stripe(self):
        """This session as Stripe describes it now, its payment intent expanded. Stripe only:
        nothing is locked or written."""
        self.ensure_one()
        return (
            self.company_id._paybylink_stripe_client()
            .v1.checkout.sessions.retrieve(
                self.stripe_session_id, params={"expand": ["payment_intent"]}
            )
            .to_dict()
        )

    def _paybylink_end_at_stripe(self):
        """Ask Stripe to end this open session, so that it can take no money, and return the
        session as Stripe then describes it: read again when Stripe refuses, the customer having
        paid meanwhile. Stripe only, to be called holding no lock; its answer is applied after
        (``_paybylink_apply_answers``)."""
        self.ensure_one()
        client = self.company_id._paybylink_stripe_client()
        try:
            return client.v1.checkout.sessions.expire(self.stripe_session_id).to_dict()
        except stripe.InvalidRequestError:
            return self._paybylink_read_at_stripe()

    def _paybylink_refresh(self):
        """Read this session again from Stripe and apply what it says."""
        self.ensure_one()
        self._paybylink_apply(self._paybylink_read_at_stripe())

    @api.model
    def _paybylink_apply_answers(self, answers):
        """Apply what Stripe answered for sessions, asked before any lock was taken.

        :param list answers: pairs of a session and Stripe's description of it
        """
        for session, stripe_session in answers:
            session._paybylink_apply(stripe_session)

    def _paybylink_apply(self, stripe_session, event_type=None):
        """Bring this session, its invoice and its payment in line with Stripe's facts, with the
        invoice's notes in its company's language whoever brought the news (see
        ``_paybylink_apply_facts``)."""
        self.ensure_one()
        self.with_env(self.link_id._in_company_lang().env)._paybylink_apply_facts(
            stripe_session, event_type
        )

    def _paybylink_apply_facts(self, stripe_session, event_type=None):
        """Bring this session, its invoice and its payment in line with Stripe's facts.

        The link and then the session are locked first (the order of ``paybylink.link``), so
        that a webhook, the customer's return and the cron racing for the same session take
        turns and only the first registers the payment; a replayed or late event finds the work
        done and changes nothing.

        :param dict stripe_session: the Checkout Session as Stripe gives it (an event's object, or
            the API's answer with its payment intent expanded)
        :param str event_type: the Stripe event that brought it, if any
        """
        self.ensure_one()
        self.link_id._lock()
        utils.lock_records(
            self,
            self.env._("This online payment is being updated elsewhere; try again in a moment."),
        )
        state = self._paybylink_state_from_stripe(stripe_session, event_type)
        payment_intent = stripe_session.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
        values = {"synced_at": fields.Datetime.now()}
        if payment_intent and not self.payment_intent_id:
            values["payment_intent_id"] = payment_intent
        self.write(values)
        if state == self.state or self.state not in const.STRIPE_SESSION_TRANSITIONS.get(state, ()):
            if state != self.state:
                _logger.info(
                    "Stripe session %s stays %s: %s comes too late",
                    self.stripe_session_id,
                    self.state,
                    state,
                )
            return
        self.state = state
        if state == "paid":
            self._paybylink_register_payment(stripe_session)
        elif state == "processing":
            self.link_id._set_state(
                "in_progress",
                self.env._("The online payment is being processed by the bank (Stripe)."),
            )
        elif state in ("failed", "expired"):
            self._paybylink_interrupt_invoice(state)

    @api.model
    def _paybylink_state_from_stripe(self, stripe_session, event_type=None):
        """Our status for a Checkout Session as Stripe describes it."""
        if event_type == "checkout.session.async_payment_failed":
            return "failed"
        status = stripe_session.get("status")
        if status == "expired":
            return "expired"
        if status != "complete":
            return "open"
        if stripe_session.get("payment_status") in ("paid", "no_payment_required"):
            return "paid"
        payment_intent = stripe_session.get("payment_intent")
        if isinstance(payment_intent, dict) and payment_intent.get("status") in (
            "requires_payment_method",
            "canceled",
        ):
            return "failed"
        return "processing"

    def _paybylink_record_decline(self, payment_intent):
        """A try of this open session was declined (``payment_intent.payment_failed``): keep
        Stripe's reason and the payment method, for when the attempt ends."""
        self.ensure_one()
        error = payment_intent.get("last_payment_error")
        if not isinstance(error, dict):
            return
        method = error.get("payment_method")
        method_type = method.get("type") if isinstance(method, dict) else None
        reason = str(error.get("message") or error.get("decline_code") or error.get("code") or "")
        reason = reason.strip() or self.env._("declined")
        self.decline_reason = (f"{method_type}: {reason}" if method_type else reason)[:200]

    def _paybylink_interrupt_invoice(self, state):
        """The attempt failed or expired: the invoice's payment is interrupted, unless another
        attempt is still under way or the customer announced a transfer."""
        self.ensure_one()
        link = self.link_id
        if state == "failed":
            cause = self.env._("The online payment failed; nothing was taken.")
        elif self.decline_reason:
            cause = self.env._(
                "The online payment was declined (%(reason)s); nothing was taken.",
                reason=self.decline_reason,
            )
        else:
            cause = self.env._("The online payment was abandoned or expired; nothing was taken.")
        if state == "failed" or self.decline_reason:
            # Money the customer meant to pay did not come: someone should know, once.
            link._ask_accountant(
                self.env._("Online payment failed"),
                self.env._(
                    "%(cause)s Stripe: %(session)s.", cause=cause, session=self.stripe_session_id
                ),
            )
        others_live = link.stripe_session_ids.filtered(
            lambda session: session.state in const.STRIPE_LIVE_SESSION_STATES
        )
        if others_live or link.transfer_declared_at:
            return
        link._set_state("interrupted", cause)

    def _paybylink_register_payment(self, stripe_session):
        """Register the money Stripe received as a posted payment, reconciled with the invoice."""
        self.ensure_one()
        invoice = self.move_id
        company = self.company_id
        journal = company.paybylink_stripe_journal_id
        if not journal:
            # Raised so that the event is not recorded and Stripe sends it again once it is set.
            raise UserError(
                self.env._(
                    "Set the journal for Stripe payments of %(company)s: a payment of invoice "
                    "%(invoice)s was received and cannot be registered.",
                    company=company.name,
                    invoice=invoice.name,
                )
            )
        amount = payment_utils.to_major_currency_units(
            stripe_session.get("amount_total") or 0, self.currency_id
        )
        invoice_lines = invoice.line_ids.filtered(
            lambda line: (
                line.account_type == "asset_receivable"
                and line.parent_state == "posted"
                and not line.reconciled
            )
        )
        payment = (
            self.env["account.payment"]
            .with_company(company)
            .create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.commercial_partner_id.id,
                    "amount": amount,
                    "currency_id": self.currency_id.id,
                    "journal_id": journal.id,
                    "payment_method_line_id": journal.inbound_payment_method_line_ids[:1].id,
                    "date": fields.Date.context_today(self),
                    "memo": f"{invoice.name} - Stripe {self.payment_intent_id or ''}".strip(),
                    "payment_reference": self.payment_intent_id or self.stripe_session_id,
                    # Linked only when it pays it, so that the payment shows as paid with it.
                    "invoice_ids": [Command.set(invoice.ids if invoice_lines else [])],
                    **(
                        {"destination_account_id": invoice_lines[0].account_id.id}
                        if invoice_lines
                        else {}
                    ),
                }
            )
        )
        payment.action_post()
        self.payment_id = payment
        values = {
            "amount": self.currency_id.format(amount),
            "reference": payment.payment_reference,
            "payment": payment.name,
        }
        if invoice_lines:
            (payment.move_id.line_ids + invoice_lines).filtered(
                lambda line: (
                    line.account_id == payment.destination_account_id and not line.reconciled
                )
            ).with_context(paybylink_paid_by="online").reconcile()
            note = self.env._(
                "Payment of %(amount)s received online through Stripe (%(reference)s), "
                "registered as %(payment)s and reconciled with the invoice.",
                **values,
            )
        else:
            note = self.env._(
                "Payment of %(amount)s received online through Stripe (%(reference)s) and "
                "registered as %(payment)s, but the invoice had nothing left to pay it: refund the "
                "customer or use it as a credit.",
                **values,
            )
        invoice.message_post(
            body=note,
            author_id=self.link_id._note_author().id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    # === CRON === #

    @api.model
    def _cron_paybylink_poll_stripe(self):
        """Ask Stripe about the live sessions we heard nothing of for a while, in case a webhook
        was lost: one batch a call, its progress to ``ir.cron._notify_progress`` (Odoo commits it
        and calls again while some are due).

        The batch is read without a lock: each session is asked of Stripe holding none, then
        applied under the link's lock, then the session's (``_paybylink_apply_facts``), in the
        order every path takes, and committed before the next one is asked, so that no lock is
        held while Stripe answers. Two workers polling the same session at once only ask
        Stripe twice; the second finds the news applied. A session that could not be polled
        waits for its next turn, like the others.
        """
        sessions = self._paybylink_due_for_poll(const.STRIPE_POLL_BATCH_SIZE)
        for session in sessions:
            session._paybylink_poll()
            if utils.can_commit():
                self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = 0
        if len(sessions) == const.STRIPE_POLL_BATCH_SIZE:
            remaining = len(self._paybylink_due_for_poll())
        self.env["ir.cron"]._notify_progress(done=len(sessions), remaining=remaining)

    @api.model
    def _paybylink_due_for_poll(self, limit=None):
        """The live sessions due for a question to Stripe, oldest news first: an open one 15
        minutes after it was last polled or heard of (else created); a debit being processed
        less and less often as the session ages (``const.STRIPE_PROCESSING_POLL_STEPS``)."""
        now = fields.Datetime.now()
        processing_delay = SQL(
            "CASE %s ELSE %s END",
            SQL(" ").join(
                SQL(
                    "WHEN create_date > %s THEN %s",
                    now - timedelta(minutes=age),
                    now - timedelta(minutes=delay),
                )
                for age, delay in const.STRIPE_PROCESSING_POLL_STEPS
            ),
            now - timedelta(minutes=const.STRIPE_POLL_SLOWEST_MINUTES),
        )
        self.flush_model(["state", "synced_at", "polled_at"])
        self.env.cr.execute(
            SQL(
                """SELECT id FROM paybylink_stripe_session
                    WHERE state IN %s
                      AND GREATEST(polled_at, COALESCE(synced_at, create_date))
                          < CASE WHEN state = 'processing' THEN %s ELSE %s END
                 ORDER BY GREATEST(polled_at, COALESCE(synced_at, create_date)), id
                    LIMIT %s""",
                const.STRIPE_LIVE_SESSION_STATES,
                processing_delay,
                now - timedelta(minutes=const.STRIPE_POLL_DELAY_MINUTES),
                limit,
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _paybylink_poll(self):
        """Ask Stripe about this session and apply its answer. A failure is logged and, when it
        is not Stripe being unreachable or refusing, noted once on the invoice; it never stops
        the cron."""
        self.ensure_one()
        error = None
        try:
            with self.env.cr.savepoint():
                if self.state == "open" and not self.link_id.active:
                    # Its link stopped while Stripe could not end it: ended now.
                    self._paybylink_apply(self._paybylink_end_at_stripe())
                else:
                    self._paybylink_refresh()
        except (stripe.StripeError, UserError) as failure:
            _logger.warning(
                "Stripe session %s could not be polled: %s", self.stripe_session_id, failure
            )
            error = str(failure)
        except psycopg2.errors.SerializationFailure:
            # A webhook or the customer's return changed the session while Stripe was asked:
            # its news is in. Writing the row now would fail the same way, and the batch with
            # it; left as it is, it waits for its next turn.
            _logger.info("Stripe session %s changed while polled", self.stripe_session_id)
            return
        except Exception as failure:
            _logger.exception("Stripe session %s: polling failed", self.stripe_session_id)
            error = repr(failure)
            if error != self.poll_error:
                invoice = self.link_id._in_company_lang().move_id
                invoice._message_log(
                    body=invoice.env._(
                        "Stripe's news of the online payment %(session)s could not be applied: "
                        "%(error)s",
                        session=self.stripe_session_id,
                        error=error,
                    )
                )
        self.write({"polled_at": fields.Datetime.now(), "poll_error": error})
