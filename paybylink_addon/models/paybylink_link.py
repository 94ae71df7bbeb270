# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from collections import namedtuple
from datetime import timedelta

import stripe
from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, consteq, ormcache
from odoo.tools.lru import LRU

from odoo.addons.base_iban.models.res_partner_bank import pretty_iban

from .. import const, utils

_logger = logging.getLogger(__name__)

# What the customer's page reads of the link, its invoice and its company: invoices' and
# companies' rows are among the widest of Odoo's.
PAGE_LINK_FIELDS = [
    "move_id",
    "company_id",
    "token",
    "active",
    "state",
    "sent_at",
    "iban",
    "bic",
    "customer_lang",
    "beneficiary_name",
    "customer_name",
    "invoice_lines",
    "reference",
    "transfer_declared_at",
    "paid_at",
    "online_payment_processing",
    "amount",
    "customer_tz",
]
# A view of a customer's page, as counted (``paybylink.link._page_view``): the fingerprint
# changes whenever a row the page is rendered from does.
PageView = namedtuple("PageView", "link_id fingerprint lang visit_id first_view")

PAGE_COMPANY_FIELDS = [
    "name",
    "uses_default_logo",
    "email",
    "phone",
    "paybylink_validity_days",
    "paybylink_stripe_secret_key",
    "paybylink_stripe_journal_id",
]
PAGE_INVOICE_FIELDS = [
    "name",
    "state",
    "move_type",
    "payment_state",
    "company_id",
    "partner_id",
    "currency_id",
    "amount_total",
    "amount_residual",
    "invoice_date",
    "invoice_date_due",
]


class PaybylinkLink(models.Model):
    """One payment link sent for an invoice: its token, its details, its status and its history.

    An invoice has any number of links and at most one working (``active``); the invoice's
    ``paybylink_*`` fields are its working link's values. A link that stopped working is kept,
    inactive, with when and why, so that its page still names the company.

    Locks: a status change locks the link's row (``_lock``), then the Stripe session if any,
    then writes the invoice if at all; every path takes them in this order, with
    ``FOR NO KEY UPDATE`` so that a page view (which only inserts a ``paybylink.visit``
    referencing the link) never waits for them. A view of the page locks and writes nothing
    else.
    """

    _name = "paybylink.link"
    _description = "Payment Link"
    _order = "id desc"
    _check_company_auto = True
    _rec_name = "move_id"

    move_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        comodel_name="res.company", required=True, readonly=True, index=True
    )
    token = fields.Char(required=True, readonly=True, copy=False, groups=const.LINK_READERS)
    url = fields.Char(
        string="Link",
        compute="_compute_url",
        compute_sudo=True,
        help="The customer's page, to open or copy.",
    )
    active = fields.Boolean(
        default=True,
        readonly=True,
        help="Whether the link works; a link that stopped working is kept for its history.",
    )
    state = fields.Selection(
        selection=const.STATE_SELECTION,
        string="Status",
        readonly=True,
        index=True,
        help='"Not opened": the customer has not tried to pay yet (viewing the page is counted '
        "apart). Then a payment is in progress, was interrupted (failed, cancelled or expired: "
        "the customer must start again), or the invoice is paid.",
    )
    sent_at = fields.Datetime(string="Sent On", readonly=True)
    currency_id = fields.Many2one(comodel_name="res.currency", readonly=True)
    amount = fields.Monetary(readonly=True)
    partner_bank_id = fields.Many2one(
        comodel_name="res.partner.bank",
        string="IBAN",
        readonly=True,
        ondelete="restrict",
        check_company=True,
    )
    # Stored beside the link for its page, which then reads one row of it and none of the bank
    # account's, the bank's or the customer's; kept current by the ORM.
    iban = fields.Char(
        related="partner_bank_id.sanitized_acc_number",
        string="IBAN (Plain)",
        help="The IBAN without spaces, as the customer's page and its QR code give it.",
        store=True,
    )
    bic = fields.Char(
        related="partner_bank_id.bank_id.bic",
        string="BIC",
        help="The bank's BIC, as the customer's page gives it.",
        store=True,
    )
    customer_lang = fields.Selection(
        related="move_id.partner_id.lang",
        string="Customer Language",
        help="The language of the customer's page.",
        store=True,
    )
    customer_tz = fields.Selection(
        related="move_id.partner_id.tz",
        string="Customer Time Zone",
        help="The time zone of the dates on the customer's page (else UTC).",
        store=True,
    )
    # What the page shows of the invoice it was sent for, which a posted invoice keeps (changing
    # its lines resets it to draft, which stops the link).
    customer_name = fields.Char(
        string="Billed To", compute="_compute_invoice_summary", store=True, precompute=True
    )
    invoice_lines = fields.Json(
        compute="_compute_invoice_summary",
        store=True,
        precompute=True,
        help="The invoice's lines in short, [label, amount with taxes], for the customer's page.",
    )
    beneficiary_name = fields.Char(readonly=True)
    reference = fields.Char(readonly=True)
    email = fields.Char(string="Sent To", readonly=True)
    last_message_id = fields.Many2one(
        comodel_name="mail.message", string="Last Email", readonly=True, ondelete="set null"
    )
    reminder_count = fields.Integer(string="Reminders", readonly=True)
    last_reminder_at = fields.Datetime(string="Last Reminder On", readonly=True)
    reminder_failed_at = fields.Datetime(
        string="Reminder Failed On",
        readonly=True,
        help="The scheduled reminder could not be sent; it is tried again the next day.",
    )
    reminder_error = fields.Char(string="Reminder Failure", readonly=True)
    renewal_requested_at = fields.Datetime(
        string="New Link Asked On",
        readonly=True,
        help="When the customer last asked, from this link's page, for a link that works.",
    )
    transfer_declared_at = fields.Datetime(string="Transfer Declared On", readonly=True)
    transfer_chased_at = fields.Datetime(
        string="Late Transfer Flagged On",
        readonly=True,
        help="When the accountant was asked to chase the declared transfer that did not arrive.",
    )
    paid_at = fields.Datetime(string="Paid On", readonly=True)
    paid_by = fields.Selection(
        selection=const.LINK_PAID_BY,
        readonly=True,
        help="How the invoice was paid while this link worked.",
    )
    stopped_at = fields.Datetime(string="Stopped On", readonly=True)
    stop_reason = fields.Selection(
        selection=const.LINK_STOP_REASONS,
        string="Stopped Because",
        readonly=True,
    )
    visit_ids = fields.One2many(
        comodel_name="paybylink.visit", inverse_name="link_id", string="Page Views", readonly=True
    )
    opened_at = fields.Datetime(
        string="First Opened On", compute="_compute_visits", compute_sudo=True
    )
    open_count = fields.Integer(string="Views", compute="_compute_visits", compute_sudo=True)
    stripe_session_ids = fields.One2many(
        comodel_name="paybylink.stripe.session",
        inverse_name="link_id",
        string="Online Payment Attempts",
        readonly=True,
    )
    online_payment_processing = fields.Boolean(
        compute="_compute_online_payment_processing",
        store=True,
        help="An online payment (a debit) is being processed by the bank: the page offers no "
        "other.",
    )

    _sql_constraints = [
        ("token_unique", "UNIQUE(token)", "A payment link token is unique."),
    ]

    def init(self):
        # At most one working link per invoice, whatever two users or workers do at once.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS paybylink_link_one_working_per_move
                   ON paybylink_link (move_id) WHERE active"""
        )

    # === COMPUTE METHODS === #

    @api.depends("move_id")
    def _compute_invoice_summary(self):
        for link in self:
            move = link.move_id
            link.customer_name = move.partner_id.display_name
            link.invoice_lines = [
                [(line.name or "").split("\n")[0], line.price_total]
                for line in move.invoice_line_ids
                if line.display_type == "product"
            ][: const.PAGE_INVOICE_LINES_MAX]

    @api.depends("token")
    def _compute_url(self):
        for link in self:
            link.url = link.token and utils.build_page_url(link.get_base_url(), link.token)

    @api.depends("visit_ids")
    def _compute_visits(self):
        stats = {
            link.id: (count, first_visit)
            for link, count, first_visit in self.env["paybylink.visit"]._read_group(
                [("link_id", "in", self._origin.ids)], ["link_id"], ["__count", "visited_at:min"]
            )
        }
        for link in self:
            link.open_count, link.opened_at = stats.get(link._origin.id, (0, False))

    @api.depends("stripe_session_ids.state")
    def _compute_online_payment_processing(self):
        for link in self:
            link.online_payment_processing = "processing" in link.stripe_session_ids.mapped("state")

    # === BUSINESS METHODS - LOCKS === #

    def _lock(self):
        """Lock these links' rows for the rest of the transaction (``utils.lock_rows``).

        :raise UserError: if another transaction holds one of them for more than a few seconds;
            this transaction stays usable
        """
        utils.lock_records(
            self,
            self.env._("This payment link is being updated elsewhere; try again in a moment."),
        )

    def _lock_available(self):
        """Lock those of these links that no other transaction holds, and return them: a batch
        leaves the others to its next run rather than wait for them or fail."""
        locked = utils.lock_rows(self.env.cr, self._table, self.ids, skip_locked=True)
        self.invalidate_recordset()
        return self.filtered(lambda link: link.id in locked)

    # === BUSINESS METHODS - STATUS === #

    def _set_state(self, state, cause, payment_undone=False, paid_by=None):
        """Move these links to ``state`` and log it in their invoices' chatter.

        Links already in ``state`` are skipped, as are those whose status may not lead to it
        (``const.ALLOWED_TRANSITIONS``); both cases are logged.

        :param str state: the new status, a key of ``const.ALLOWED_TRANSITIONS``
        :param str cause: why, in words the accountant understands; posted in the chatter
        :param bool payment_undone: the invoice's payment was undone: "Paid" may be left
        :param str paid_by: with ``paid``, how (a key of ``const.LINK_PAID_BY``)
        :return: the links whose status changed
        :rtype: paybylink.link
        """
        allowed_from = const.ALLOWED_TRANSITIONS[state] + (("paid",) if payment_undone else ())
        labels = dict(self._fields["state"]._description_selection(self.env))
        changed = self.browse()
        for link in self:
            if link.state == state:
                _logger.info("Payment link %s already in state %s", link.id, state)
            elif link.state not in allowed_from:
                _logger.warning(
                    "Payment link %s: transition %s -> %s refused (%s)",
                    link.id,
                    link.state,
                    state,
                    cause,
                )
            else:
                changed |= link
        if not changed:
            return changed
        paid = state == "paid"
        changed.write(
            {
                "state": state,
                "paid_at": fields.Datetime.now() if paid else False,
                "paid_by": (paid_by or "other") if paid else False,
            }
        )
        body = self.env._(
            "Payment link status: %(state)s. %(cause)s", state=labels[state], cause=cause
        )
        # A note notifies no one: logged in one go, without message_post's per-record work.
        changed.move_id._message_log_batch(
            dict.fromkeys(changed.move_id.ids, body),
            author_id=self._note_author().id,
            message_type="comment",
        )
        return changed

    def _note_author(self):
        """Who signs the invoice's notes of what happens: the user who did it, else OdooBot
        (what customers do on their page runs as the public user; Stripe's news, as nobody)."""
        user = self.env.user
        return user.partner_id if user._is_internal() else self.env.ref("base.partner_root")

    def _send_payment_received(self):
        """Tell the customers of these links, just paid online or by a transfer the matching
        found, that their payment was received (the company's option). Queued, never sent while
        the payment holds its locks; an email that cannot be made is logged and the payment
        stays."""
        template = self.env.ref("paybylink_addon.mail_template_paybylink_paid")
        for link in self.filtered(
            lambda link: (
                link.paid_by in ("online", "bank_transfer")
                and link.company_id.paybylink_send_receipt
                and link.email
            )
        ):
            move = link.move_id.with_context(mail_notify_force_send=False)
            try:
                with self.env.cr.savepoint():
                    subject, body = move._paybylink_render_mail(template, link.url, link.reference)
                    move._paybylink_post_mail(template, subject, body)
            except Exception:
                _logger.exception("No payment received email for %s", move.name)

    def _payment_undone(self):
        """A payment of these links' invoices was undone: those whose invoice is no longer paid
        return to what the evidence supports: a payment under way (a part still applied, a
        transfer announced, an online payment open, processing or received), else an
        interrupted attempt, else never tried. A link "in progress" for a part paid whose
        payment was undone goes back as well."""
        for link in self.filtered(lambda link: not link.move_id._paybylink_invoice_is_paid()):
            move = link.move_id
            sessions = link.sudo().stripe_session_ids
            if (
                # Less is due than the link asked for: a part was paid since it was sent.
                move.currency_id.compare_amounts(move.amount_residual, link.amount) < 0
                or link.transfer_declared_at
                or set(sessions.mapped("state")) & {"open", "processing", "paid"}
            ):
                state = "in_progress"
            elif sessions:
                state = "interrupted"
            else:
                state = "not_opened"
            link = link._in_company_lang()
            link._set_state(
                state, link.env._("The invoice's payment was undone."), payment_undone=True
            )

    def _stop(self, reason, cause):
        """Stop these links from working, keeping them for their history; sending again makes
        a new link. Stripe is not called here, under the links' lock: the callers end their
        online payments first (``_end_online_payments``); one Stripe could not end is ended by
        the poll cron.

        :param str reason: a key of ``const.LINK_STOP_REASONS``
        :param str cause: why, for the invoice's chatter
        """
        links = self.filtered("active")
        links._lock()
        for link in links:
            link.write(
                {"active": False, "stopped_at": fields.Datetime.now(), "stop_reason": reason}
            )
            # Now: a new link of the invoice may be inserted next (one working per invoice).
            link.flush_recordset(["active"])
            link.move_id.message_post(
                body=self.env._("Payment link revoked: %(cause)s", cause=cause),
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )

    def _end_online_payments(self):
        """End these links' online payments still open: Stripe is asked first, holding no lock
        (call it holding none), then the links are locked and its answers applied."""
        answers, _failed = self._end_open_sessions_at_stripe()
        self._lock()
        self.env["paybylink.stripe.session"]._paybylink_apply_answers(answers)

    def _end_open_sessions_at_stripe(self):
        """Ask Stripe to end these links' online payments still open, so that no one pays a
        link that stops or an attempt given up. Stripe only, to be called holding no lock (a
        slow Stripe then keeps no payment, webhook or page waiting); the answers are applied
        after, under the links' locks (``paybylink.stripe.session._paybylink_apply_answers``).
        A session Stripe cannot end now is left to the poll cron, which ends it if its link has
        stopped meanwhile, and registers any payment made on it.

        :return: the sessions Stripe answered for, each with its answer; and whether Stripe
            could not be asked about one
        :rtype: tuple[list[tuple[paybylink.stripe.session, dict]], bool]
        """
        answers, failed = [], False
        for session in self.sudo().stripe_session_ids.filtered(
            lambda session: session.state == "open"
        ):
            try:
                answers.append((session, session._paybylink_end_at_stripe()))
            except stripe.StripeError as error:
                failed = True
                _logger.warning(
                    "Stripe session %s not expired: %s", session.stripe_session_id, error
                )
        return answers, failed

    def _in_company_lang(self):
        """This link in its company's language, for its invoice's chatter notes
        (``account.move._paybylink_in_company_lang``)."""
        self.ensure_one()
        return self.with_env(self.move_id._paybylink_in_company_lang().env)

    # === BUSINESS METHODS - PREDICATES === #

    def _expires_at(self):
        """When this link stops working for its age (its company's link validity after it was
        sent), or None if it never does: no validity set, or its invoice paid."""
        self.ensure_one()
        days = self.company_id.paybylink_validity_days
        if not (days and self.sent_at) or self._is_paid():
            return None
        return self.sent_at + relativedelta(days=days)

    def _is_expired(self):
        """Whether this unpaid link is older than its company's link validity, if it has one."""
        expires_at = self._expires_at()
        return bool(expires_at and expires_at < fields.Datetime.now())

    def _is_paid(self):
        """Whether this link's invoice is paid, by this link or otherwise."""
        self.ensure_one()
        return self.state == "paid" or self.move_id._paybylink_invoice_is_paid()

    def _can_declare_transfer(self):
        self.ensure_one()
        return not self._is_paid() and self.state in ("not_opened", "interrupted")

    def _can_pay_online(self):
        """Whether the page offers to pay online: Stripe is set up, something is due, and no
        other payment is on its way (a declared transfer, a debit being processed)."""
        self.ensure_one()
        move = self.move_id
        return (
            self.company_id._paybylink_stripe_is_configured()
            and self.state != "paid"
            and not move._paybylink_is_closed()
            and move.currency_id.compare_amounts(move.amount_residual, 0) > 0
            and not (self.state == "in_progress" and self.transfer_declared_at)
            and not self.online_payment_processing
        )

    # === BUSINESS METHODS - CUSTOMER PAGE === #

    @api.model
    def _find_by_token(self, token):
        """Return what a customer's page may show for ``token``.

        :return: the link (sudo) when it works, else an empty recordset; and the link sent with
            this token (sudo), whatever became of it, else an empty recordset: its page names
            its company, and no one for a token never sent
        :rtype: tuple[paybylink.link, paybylink.link]
        """
        links = self.sudo().with_context(active_test=False).browse()
        if not utils.is_well_formed_token(token):
            return (links.with_context(active_test=True),) * 2
        link = links.search_fetch([("token", "=", token)], PAGE_LINK_FIELDS, limit=1)
        if not (link and consteq(link.token, token)):
            return (links.with_context(active_test=True),) * 2
        link = link.with_context(active_test=True)
        link.move_id.fetch(PAGE_INVOICE_FIELDS)
        link.company_id.fetch(PAGE_COMPANY_FIELDS)
        works = link.active and link.move_id.state == "posted" and not link._is_expired()
        return (link if works else link.browse()), link

    def _can_renew(self):
        """Whether this link's page may offer "Send me a new link": the link expired or was
        replaced (not stopped because its invoice was changed or cancelled), and its invoice is
        still posted, open and due."""
        self.ensure_one()
        move = self.move_id
        stopped_for_renewal = (self.active and self._is_expired()) or (
            not self.active and self.stop_reason in const.RENEWABLE_STOP_REASONS
        )
        return bool(
            stopped_for_renewal
            and self.email
            and move.state == "posted"
            and not move._paybylink_is_closed()
            and move.currency_id.compare_amounts(move.amount_residual, 0) > 0
        )

    def _renew_on_request(self):
        """The customer asks, from this link's page, for a link that works.

        The invoice's working link, or a new one with this link's details, goes to the address
        this link went to, never to one the visitor gives; at most once a day per invoice. With
        the company's option off, the accountant gets an activity instead. Every request is
        noted in the invoice's chatter.

        :return: ``sent`` (with the address, partly masked), ``asked`` (the accountant will
            send it) or ``already`` (asked today already)
        :rtype: tuple[str, str | None]
        """
        self.ensure_one()
        move = self.move_id
        # A working link that expired is stopped and replaced (_paybylink_send_again): its
        # online payments are ended at Stripe first, holding no lock.
        expired = move.paybylink_link_id.sudo().browse()
        if self.company_id.paybylink_renew_on_request:
            expired = move.paybylink_link_id.sudo().filtered(lambda working: working._is_expired())
        answers, _failed = expired._end_open_sessions_at_stripe()
        (move.paybylink_link_ids | self)._lock()
        self.env["paybylink.stripe.session"]._paybylink_apply_answers(answers)
        link = self._in_company_lang()
        today = fields.Date.context_today(self)
        if any(
            other.renewal_requested_at
            and fields.Date.context_today(self, other.renewal_requested_at) == today
            for other in move.with_context(active_test=False).paybylink_link_ids
        ):
            return "already", utils.mask_email(self.email)
        self.renewal_requested_at = fields.Datetime.now()
        move = link.move_id
        sent = False
        note = link.env._("The customer asked for a new payment link from an old one's page.")
        if self.company_id.paybylink_renew_on_request:
            try:
                with self.env.cr.savepoint():
                    move._paybylink_send_again(self)
            except UserError as error:
                note = link.env._(
                    "The customer asked for a new payment link from an old one's page; it "
                    "could not be sent (%(reason)s), the accountant is asked to.",
                    reason=error.args[0],
                )
            else:
                sent = True
                note = link.env._(
                    "The customer asked for a new payment link from an old one's page: it "
                    "was sent to %(email)s.",
                    email=self.email,
                )
        move._message_log(author_id=self._note_author().id, body=note)
        if sent:
            return "sent", utils.mask_email(self.email)
        link._ask_accountant(
            link.env._("Customer asks for a new payment link"),
            link.env._(
                "The customer asked from the page of a payment link that no longer works; it was "
                "sent to %(email)s.",
                email=self.email,
            ),
        )
        return "asked", None

    def _ask_accountant(self, summary, note):
        """Give the invoice's salesperson, else whoever sent the link, a to-do about it."""
        self.ensure_one()
        self.move_id.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=(self.move_id.invoice_user_id or self.create_uid).id,
        )

    @api.model
    def _late_transfer_domain(self):
        """The links whose customer declared a transfer ``const.TRANSFER_CHASE_DAYS`` days ago
        or more that has not arrived: the invoices' filter and the accountant's activity
        (``_chase_late_transfers``) say the same."""
        return [
            ("state", "=", "in_progress"),
            (
                "transfer_declared_at",
                "<=",
                fields.Datetime.now() - timedelta(days=const.TRANSFER_CHASE_DAYS),
            ),
        ]

    @api.model
    def _chase_late_transfers(self):
        """Ask the accountant, once per declaration, about the late transfers
        (``_late_transfer_domain``)."""
        late = self.search([*self._late_transfer_domain(), ("transfer_chased_at", "=", False)])
        flagged = self.browse()
        for link in late:
            link = link._in_company_lang()
            try:
                with self.env.cr.savepoint():
                    link._ask_accountant(
                        link.env._("Declared transfer not received"),
                        link.env._(
                            "The customer declared a bank transfer on %(date)s and it has not "
                            "arrived: check the bank, or ask the customer.",
                            date=fields.Date.to_string(link.transfer_declared_at.date()),
                        ),
                    )
            except Exception:
                # One bad record (an archived salesperson, say) must not stop the others.
                _logger.exception("Late transfer of %s not flagged", link.move_id.name)
                continue
            flagged |= link
        flagged.transfer_chased_at = fields.Datetime.now()
        return flagged

    def _get_qr_payload(self):
        """Return the SEPA QR payload for the amount still due, or None when it cannot have one:
        not in euros, or an IBAN outside the SEPA zone."""
        self.ensure_one()
        move = self.move_id
        iban = (self.iban or "").upper()
        if move.currency_id.name != "EUR" or iban[:2] not in self._sepa_country_codes():
            return None
        return utils.build_sepa_qr_payload(
            self.bic, self.beneficiary_name, iban, move.amount_residual, self.reference
        )

    @api.model
    @ormcache()
    def _sepa_country_codes(self):
        # Cached: the pay page needs it on every view, and the SEPA zone is fixed reference data.
        return frozenset(self.env.ref("base.sepa_zone").sudo().country_ids.mapped("code"))

    def _get_page_values(self):
        """Return the values of the customer's page of this link."""
        self.ensure_one()
        move = self.move_id
        is_paid = self._is_paid()
        payload = None if is_paid else self._get_qr_payload()
        page_url = f"{const.PAGE_ROUTE}/{self.token}"
        return {
            "link": self,
            "invoice": move,
            "company": self.company_id,
            "currency": move.currency_id,
            "is_paid": is_paid,
            "amount_due": move.amount_residual,
            "iban": pretty_iban(self.iban),
            "bic": self.bic,
            "qr_svg": Markup(utils.render_qr_svg(payload)) if payload else None,
            "can_declare_transfer": self._can_declare_transfer(),
            "can_take_back_transfer": self._can_take_back_transfer(),
            "transfer_declared_on": self._page_date(self.transfer_declared_at),
            "paid_on": self._page_date(self.paid_at),
            "iban_plain": self.iban,
            "show_logo": not self.company_id.uses_default_logo,
            "can_pay_online": self._can_pay_online(),
            "checkout_url": f"{page_url}/checkout",
            "transfer_url": f"{page_url}/transfer",
            "take_back_url": f"{page_url}/transfer/undo",
            "pdf_url": f"{page_url}/invoice.pdf",
            "help_url": const.HELP_ROUTE,
        }

    @api.model
    def _page_view(self, token, count_view):
        """Look up the active link behind ``token`` for a view of its page and, with
        ``count_view``, count the view: one statement, no ORM, nothing locked or written but
        the view's row. Only another first view of the same link, not committed yet, is waited
        for (the unique index); Odoo then runs this request again (REPEATABLE READ), and it
        counts as a later view.

        Inserted in SQL, as ``website.visitor`` records its visitors: every view pays for it,
        and a view has nothing for the ORM to default, compute or check. The caller takes the
        view back (``_forget_view``) if the link turns out not to work (expired, its invoice
        no longer posted).

        :return: the view, or None when no active link has this token
        :rtype: PageView | None
        """
        if not utils.is_well_formed_token(token):
            return None
        # The fingerprint names the rows' current versions by their xmin (the transaction that
        # wrote one) and ctid (where it is; a transaction updating a row twice writes two): any
        # change to the link, its invoice, its company or their currency changes it, whichever
        # of their fields the page reads. Subqueries by primary key, not joins: planning a join
        # of these wide tables costs more than running the statement. A view is inserted as
        # the link's first, unless it has one (its unique index says so), else as another.
        self.env.cr.execute(
            SQL(
                """WITH link AS (
                        SELECT l.id, l.customer_lang,
                               concat_ws(':', l.xmin, l.ctid,
                                   (SELECT concat_ws(':', m.xmin, m.ctid,
                                        (SELECT concat_ws(':', xmin, ctid) FROM res_currency
                                          WHERE id = m.currency_id))
                                      FROM account_move m WHERE m.id = l.move_id),
                                   (SELECT concat_ws(':', xmin, ctid) FROM res_company
                                     WHERE id = l.company_id)) AS fingerprint
                          FROM paybylink_link l
                         WHERE l.token = %(token)s AND l.active
                   ), first_visit AS (
                        INSERT INTO paybylink_visit (link_id, visited_at, first_view_link_id)
                        SELECT id, %(now)s, id FROM link WHERE %(count_view)s
                            ON CONFLICT (first_view_link_id) DO NOTHING
                     RETURNING id
                   ), later_visit AS (
                        INSERT INTO paybylink_visit (link_id, visited_at)
                        SELECT id, %(now)s FROM link
                         WHERE %(count_view)s AND NOT EXISTS (SELECT FROM first_visit)
                     RETURNING id
                   )
                   SELECT link.id, link.fingerprint, link.customer_lang,
                          COALESCE(first_visit.id, later_visit.id), first_visit.id IS NOT NULL
                     FROM link LEFT JOIN first_visit ON TRUE LEFT JOIN later_visit ON TRUE""",
                token=token,
                now=fields.Datetime.now(),
                count_view=bool(count_view),
            ),
            # The wait for another first view ends in a serialization failure that Odoo answers
            # by running the request again: no "bad query" error for it. Any other failure is
            # logged where the request fails.
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        return PageView(*row) if row else None

    @api.model
    def _forget_view(self, view):
        """Take back the view ``view`` counted: its link's page did not show."""
        if view and view.visit_id:
            self.env.cr.execute(SQL("DELETE FROM paybylink_visit WHERE id = %s", view.visit_id))

    def _viewed(self, view):
        """What follows a view of this link's page: its first view is noted in the invoice's
        chatter."""
        self.ensure_one()
        self.invalidate_recordset(["visit_ids", "opened_at", "open_count"])
        if view and view.first_view:
            link = self._in_company_lang()
            link.move_id._message_log(
                body=link.env._("The customer opened the payment link for the first time."),
                author_id=self._note_author().id,
            )

    def _page_date(self, moment):
        """The day ``moment`` was for the customer (their time zone, else UTC): the page's dates
        depend on the link alone, not on who views it, nor on reading a user's time zone."""
        if not moment:
            return None
        return fields.Date.context_today(self.with_context(tz=self.customer_tz or "UTC"), moment)

    def _record_visit(self):
        """Count a view of this link's page, as the page does."""
        self.ensure_one()
        self._viewed(self._page_view(self.token, count_view=True))

    # === BUSINESS METHODS - PAGE CACHE === #

    @api.model
    @ormcache(cache="templates.cached_values")
    def _page_cache(self):
        """This worker's rendered pages, by link, fingerprint and language, with when each
        stops being valid (the link's expiry); None when pages are not
        kept (system parameter ``const.PAGE_CACHE_SIZE_PARAM`` at 0).

        Held in Odoo's cache of template values, which Odoo clears whenever a template, a
        translation, a language, a system parameter or any cache may have changed: the pages go
        with it. Mutable on purpose: one entry of Odoo's cache, bounded on its own.
        """
        value = self.env["ir.config_parameter"].sudo().get_param(const.PAGE_CACHE_SIZE_PARAM)
        try:
            size = int(value) if value else const.PAGE_CACHE_SIZE
        except ValueError:
            _logger.warning(
                "System parameter %s is not a number (%r): %d pages kept",
                const.PAGE_CACHE_SIZE_PARAM,
                value,
                const.PAGE_CACHE_SIZE,
            )
            size = const.PAGE_CACHE_SIZE
        return LRU(size) if size > 0 else None

    @api.model
    def _cached_page(self, view, lang):
        """The HTML of ``view``'s page in ``lang`` if this worker rendered it from the same
        rows and it is still valid, else None."""
        cache = self._page_cache()
        cached = cache.get(self._page_cache_key(view, lang)) if cache is not None else None
        if not cached:
            return None
        html, valid_until = cached
        if valid_until and valid_until <= fields.Datetime.now():
            return None
        return html

    def _cache_page(self, view, lang, html):
        """Keep ``html``, this working link's page rendered for ``view`` in ``lang``."""
        self.ensure_one()
        cache = self._page_cache()
        if cache is not None:
            cache[self._page_cache_key(view, lang)] = (html, self._expires_at())

    @api.model
    def _page_cache_key(self, view, lang):
        return view.link_id, view.fingerprint, lang

    def _reminder_failed(self, reason):
        """The scheduled reminder of this link could not be sent: it waits for the next day, and
        its invoice's chatter says why, once for as long as the reason stays the same."""
        self.ensure_one()
        if reason != self.reminder_error:
            link = self._in_company_lang()
            self.move_id._message_log(
                body=link.env._(
                    "The scheduled reminder could not be sent: %(reason)s", reason=reason
                )
            )
        self.write({"reminder_failed_at": fields.Datetime.now(), "reminder_error": reason})

    def _declare_transfer(self):
        """The customer says the transfer is made: the payment is in progress.

        :return: whether the status changed
        :rtype: bool
        """
        self.ensure_one()
        self._lock()
        if not self._can_declare_transfer():
            return False
        self.write({"transfer_declared_at": fields.Datetime.now(), "transfer_chased_at": False})
        link = self._in_company_lang()
        return bool(
            link._set_state(
                "in_progress",
                link.env._("The customer declared a bank transfer on the payment page."),
            )
        )

    def _can_take_back_transfer(self):
        """Whether the customer may say the transfer they declared was not made after all:
        declared, and nothing of the invoice paid since."""
        self.ensure_one()
        move = self.move_id
        return (
            self.state == "in_progress"
            and bool(self.transfer_declared_at)
            and not self.online_payment_processing
            and move.currency_id.compare_amounts(move.amount_residual, self.amount) >= 0
        )

    def _take_back_transfer(self):
        """The customer takes back the transfer they declared (pressed by mistake, or not made
        yet): the link is as before, paying online offered again.

        :return: whether the status changed
        :rtype: bool
        """
        self.ensure_one()
        self._lock()
        if not self._can_take_back_transfer():
            return False
        self.transfer_declared_at = False
        link = self._in_company_lang()
        return bool(
            link._set_state(
                "interrupted" if self.stripe_session_ids else "not_opened",
                link.env._("The customer took back the bank transfer they had declared."),
            )
        )

    def _start_checkout(self):
        """Send the customer to Stripe Checkout for what is due, reusing the attempt under way.

        :return: the address of Stripe's checkout page and None; None and why Stripe cannot take
            the payment now, in the customer's words; or None and None when paying online no
            longer applies (paid, or a payment under way, since the page was shown)
        :rtype: tuple[str | None, str | None]
        """
        self.ensure_one()
        # Stripe is called holding no lock (a slow Stripe keeps no payment, webhook or page
        # waiting); the link is locked to record what it says (_paybylink_create_checkout).
        if not self._can_pay_online():
            # Paid or being paid since the page was shown: the page, shown again, says so.
            return None, None
        for session in self.stripe_session_ids.filtered(lambda session: session.state == "open"):
            if session._paybylink_is_reusable():
                return session.checkout_url, None
        answers, failed = self._end_open_sessions_at_stripe()
        statuses = {answer.get("status") for _old, answer in answers}
        # Stripe says an old attempt is still open: no second one beside it.
        failed = failed or "open" in statuses
        session = None
        # An old attempt was paid meanwhile, or is being paid (complete): no new one.
        if not failed and "complete" not in statuses:
            try:
                session = self.env["paybylink.stripe.session"]._paybylink_create_checkout(self)
            except stripe.StripeError as error:
                _logger.warning("Stripe Checkout for link %s could not start: %s", self.id, error)
                failed = True
        self.env["paybylink.stripe.session"]._paybylink_apply_answers(answers)
        if failed:
            return None, self.with_context(lang=self.move_id.partner_id.lang).env._(
                "Online payment is unavailable at the moment; nothing was charged. Please try "
                "again later, or pay by bank transfer with the details below."
            )
        if not session:
            return None, None
        link = self._in_company_lang()
        link._set_state(
            "in_progress",
            link.env._(
                "The customer started paying online (Stripe Checkout %(session)s).",
                session=session.stripe_session_id,
            ),
        )
        return session.checkout_url, None

    def _checkout_outcome(self, attempt_ref):
        """What became of the online payment the customer comes back from, as Stripe tells it.

        A customer back without paying ends the attempt, so that the page offers to pay again.

        :param str attempt_ref: the attempt named in the return address
        :return: the attempt's status, or None when it is unknown or Stripe cannot be reached
        :rtype: str | None
        """
        self.ensure_one()
        session = self.stripe_session_ids.filtered(
            lambda session: session.attempt_ref == attempt_ref
        )
        if not session:
            return None
        if session.state in const.STRIPE_LIVE_SESSION_STATES:
            try:
                # Stripe is asked, and an open attempt ended, before anything is locked.
                stripe_session = session._paybylink_read_at_stripe()
                if stripe_session.get("status") == "open":
                    stripe_session = session._paybylink_end_at_stripe()
                # A payment that cannot be registered (a UserError) leaves nothing half-done:
                # the session is not "paid" without its payment, and Stripe's news comes again.
                with self.env.cr.savepoint():
                    session._paybylink_apply(stripe_session)
            except (stripe.StripeError, UserError) as error:
                # Stripe unreachable, or the link busy with the same news (a webhook): the page
                # says the outcome is not known yet.
                _logger.warning("Stripe session %s not read: %s", session.stripe_session_id, error)
                return None
        return session.state
