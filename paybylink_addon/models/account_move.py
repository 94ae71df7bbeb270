# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import re

from stdnum import iso11649

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, email_normalize
from odoo.tools.mail import single_email_re
from odoo.tools.misc import hmac

from odoo.addons.base_iban.models.res_partner_bank import validate_iban

from .. import const, utils

_logger = logging.getLogger(__name__)

# What a structured creditor reference (ISO 11649) starts with: RF and two check digits.
RF_REFERENCE_RE = re.compile(r"RF\d\d")

# Email addresses typed in the wizard may be separated by commas or semicolons.
EMAIL_SEPARATORS_RE = re.compile(r"[,;]")

LINK_READERS = const.LINK_READERS


class AccountMove(models.Model):
    _inherit = "account.move"

    paybylink_link_ids = fields.One2many(
        comodel_name="paybylink.link",
        inverse_name="move_id",
        string="Payment Links",
        readonly=True,
        context={"active_test": False},
        groups=LINK_READERS,
        help="Every payment link sent for this invoice, the working one and those that stopped.",
    )
    paybylink_link_id = fields.Many2one(
        comodel_name="paybylink.link",
        string="Working Payment Link",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
    )
    # What follows is the working link's, under the names the invoice has always had.
    paybylink_state = fields.Selection(
        related="paybylink_link_id.state",
        string="Payment Link Status",
        store=True,
        readonly=True,
        copy=False,
        index=True,
        help="Where the customer stands with the payment link: never tried to pay (viewing the "
        "page is counted apart, in Views), paying, payment failed or cancelled (the customer "
        "must start again), or paid. Empty while no link works.",
    )
    paybylink_token = fields.Char(
        related="paybylink_link_id.token", string="Payment Link Token", groups=LINK_READERS
    )
    paybylink_url = fields.Char(
        related="paybylink_link_id.url",
        string="Payment Link",
        groups=LINK_READERS,
        help="The customer's page, to open or copy.",
    )
    paybylink_sent_at = fields.Datetime(
        related="paybylink_link_id.sent_at", string="Payment Link Sent On"
    )
    paybylink_opened_at = fields.Datetime(
        related="paybylink_link_id.opened_at", string="Payment Link First Opened On"
    )
    paybylink_open_count = fields.Integer(
        related="paybylink_link_id.open_count", string="Payment Link Views"
    )
    paybylink_transfer_declared_at = fields.Datetime(
        related="paybylink_link_id.transfer_declared_at", string="Payment Link Transfer Declared On"
    )
    paybylink_paid_at = fields.Datetime(
        related="paybylink_link_id.paid_at", string="Payment Link Paid On"
    )
    paybylink_paid_by = fields.Selection(
        related="paybylink_link_id.paid_by", string="Payment Link Paid By"
    )
    paybylink_reminder_count = fields.Integer(
        related="paybylink_link_id.reminder_count", string="Payment Link Reminders"
    )
    paybylink_last_reminder_at = fields.Datetime(
        related="paybylink_link_id.last_reminder_at", string="Payment Link Last Reminder On"
    )
    paybylink_no_reminder = fields.Boolean(
        string="No Payment Link Reminders",
        copy=False,
        help="This invoice's payment link is never emailed again on schedule.",
    )
    paybylink_amount = fields.Monetary(
        related="paybylink_link_id.amount", string="Payment Link Amount"
    )
    paybylink_partner_bank_id = fields.Many2one(
        related="paybylink_link_id.partner_bank_id", string="Payment Link IBAN"
    )
    paybylink_beneficiary_name = fields.Char(
        related="paybylink_link_id.beneficiary_name", string="Payment Link Beneficiary"
    )
    paybylink_reference = fields.Char(
        related="paybylink_link_id.reference", string="Payment Link Reference"
    )
    paybylink_email = fields.Char(related="paybylink_link_id.email", string="Payment Link Email")
    paybylink_last_message_id = fields.Many2one(
        related="paybylink_link_id.last_message_id", string="Payment Link Last Email"
    )
    paybylink_stripe_session_ids = fields.One2many(
        related="paybylink_link_id.stripe_session_ids", string="Online Payment Attempts"
    )
    paybylink_mail_failure = fields.Boolean(
        string="Payment Link Email Failed",
        compute="_compute_paybylink_mail_failure",
        help="The last email carrying the payment link could not be delivered.",
    )

    paybylink_overdue = fields.Boolean(
        string="Payment Link Due Date Passed",
        compute="_compute_paybylink_overdue",
        help="The due date is past: the link's emails say it was due, not that it is.",
    )

    paybylink_transfer_late = fields.Boolean(
        string="Payment Link Transfer Late",
        compute="_compute_paybylink_transfer_late",
        search="_search_paybylink_transfer_late",
        help="The customer declared a transfer that has not arrived, long enough ago that the "
        "accountant is asked to check.",
    )

    # === COMPUTE METHODS === #

    @api.depends("invoice_date_due")
    @api.depends_context("tz")
    def _compute_paybylink_overdue(self):
        today = fields.Date.context_today(self)
        for move in self:
            move.paybylink_overdue = bool(move.invoice_date_due and move.invoice_date_due < today)

    @api.depends("paybylink_link_id.state", "paybylink_link_id.transfer_declared_at")
    def _compute_paybylink_transfer_late(self):
        late = self.paybylink_link_id.sudo().filtered_domain(
            self.env["paybylink.link"]._late_transfer_domain()
        )
        for move in self:
            move.paybylink_transfer_late = move.paybylink_link_id in late

    def _search_paybylink_transfer_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search late transfers with Yes or No."))
        late = [("paybylink_link_id", "any", self.env["paybylink.link"]._late_transfer_domain())]
        return late if (operator == "=") == value else ["!", *late]

    @api.depends("paybylink_link_id.last_message_id.notification_ids.notification_status")
    def _compute_paybylink_mail_failure(self):
        for move in self:
            notifications = move.sudo().paybylink_link_id.last_message_id.notification_ids
            move.paybylink_mail_failure = any(
                notification.notification_status in ("exception", "bounce")
                for notification in notifications
            )

    # === CONSTRAINT METHODS === #

    @api.constrains("paybylink_link_id", "paybylink_state")
    def _check_paybylink_link_id(self):
        """The working link is the invoice's own link that works, and the invoice's status is
        that link's: the addon sets both as links are sent, paid and stopped. Written by hand
        (over RPC, an import), an invoice would show another invoice's or company's link, its
        page and payments, or any status."""
        for move in self.sudo():
            link = move.paybylink_link_id
            if link != move.paybylink_link_ids.filtered("active") or move.paybylink_state != (
                link.state or False
            ):
                raise ValidationError(
                    self.env._(
                        "The payment link of invoice %(invoice)s and its status are set by "
                        "sending, paying or stopping the link, not by hand.",
                        invoice=move.display_name,
                    )
                )

    # === ACTION METHODS === #

    def action_paybylink_send(self):
        """Open the wizard that sends the payment link of this invoice."""
        self.ensure_one()
        self.check_access("write")
        self._paybylink_raise_errors(self._paybylink_get_send_errors())
        return {
            "name": self.env._("Send payment link"),
            "type": "ir.actions.act_window",
            "res_model": "paybylink.send.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"active_model": self._name, "active_id": self.id},
        }

    def action_paybylink_open(self):
        """Open the customer's page in a new tab; for several invoices, list the links of those
        that have one and name the others."""
        without_link = self.filtered(lambda move: not move.paybylink_url)
        no_link_sent = self.env._(
            "No payment link was sent for %(names)s.",
            names=", ".join(without_link.mapped("display_name")),
        )
        with_link = self - without_link
        if not with_link:
            raise UserError(no_link_sent)
        if len(self) == 1:
            return {"type": "ir.actions.act_url", "url": self.paybylink_url, "target": "new"}
        links = {
            "name": self.env._("Payment links"),
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "list",
            "views": [(self.env.ref("paybylink_addon.view_move_paybylink_links_list").id, "list")],
            "domain": [("id", "in", with_link.ids)],
            "target": "new",
        }
        if not without_link:
            return links
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "warning", "message": no_link_sent, "next": links},
        }

    def action_paybylink_remind_preview(self):
        """Show the reminder of this invoice's link before it goes, editable."""
        self.ensure_one()
        self.check_access("write")
        wizard = self.env["paybylink.reminder.wizard"].create({"move_id": self.id})
        return {
            "name": self.env._("Send a reminder"),
            "type": "ir.actions.act_window",
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_paybylink_remind(self):
        """Email the payment links again to the addresses they were sent to; invoices that cannot
        be reminded are listed with the reason, and the others are reminded."""
        self.check_access("write")
        refusals = []
        # Links another transaction holds (a payment, a webhook) are named, not waited for.
        available = self.paybylink_link_id.sudo()._lock_available()
        for move in self:
            if move.paybylink_link_id and move.paybylink_link_id not in available:
                refusals.append(
                    self.env._(
                        "%(name)s was not reminded: its payment link is being updated elsewhere; "
                        "try again in a moment.",
                        name=move.display_name,
                    )
                )
                continue
            try:
                with self.env.cr.savepoint():
                    move._paybylink_send_reminder(locked=True)
            except UserError as error:
                refusals.append(error.args[0])
        if len(refusals) == len(self):
            raise UserError("\n".join(refusals))
        sent = len(self) - len(refusals)
        message = (
            self.env._("Reminder sent.")
            if len(self) == 1
            else self.env._("%(count)s reminders sent.", count=sent)
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if refusals else "success",
                "message": "\n".join([message, *refusals]),
                "sticky": bool(refusals),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # === BUSINESS METHODS - CHECKS === #

    def _paybylink_get_send_errors(self):
        """Return why a payment link cannot be sent for this invoice, as translated sentences.

        :return: the reasons, empty when a link can be sent
        :rtype: list[str]
        """
        self.ensure_one()
        name = self.display_name
        if self.move_type != "out_invoice":
            return [
                self.env._(
                    "Only customer invoices can be paid by link; %(name)s is not one.", name=name
                )
            ]
        if self.state != "posted":
            return [
                self.env._(
                    "Invoice %(name)s must be posted before a payment link is sent.", name=name
                )
            ]
        if self.paybylink_link_id:
            return [
                self.env._(
                    'A payment link was already sent for %(name)s on %(date)s. Use "Payment link '
                    'sent" to open or copy it, or "Send reminder" to email it again.',
                    name=name,
                    date=fields.Datetime.to_string(self.paybylink_sent_at),
                )
            ]
        if self.payment_state == "blocked":
            return [
                self.env._(
                    "Invoice %(name)s is in dispute (its payment is blocked): unblock it before "
                    "asking for its payment.",
                    name=name,
                )
            ]
        if self.payment_state in const.CLOSED_PAYMENT_STATES or self.currency_id.is_zero(
            self.amount_residual
        ):
            return [self.env._("Invoice %(name)s is already paid.", name=name)]
        return []

    def _paybylink_get_link_errors(
        self, amount, partner_bank, beneficiary_name, reference, email_to
    ):
        """Return what is wrong with the details a payment link would carry for this invoice.

        :param float amount: the amount asked; must be what remains due on the invoice (all of
            it, or what a deposit or a part paid left)
        :param partner_bank: the ``res.partner.bank`` the customer pays to
        :param str beneficiary_name: the name shown to the customer's bank
        :param str reference: the reference the customer quotes on the transfer
        :param str email_to: the recipients, separated by commas or semicolons
        :return: the reasons, empty when the details are right
        :rtype: list[str]
        """
        self.ensure_one()
        errors = []
        if self.currency_id.compare_amounts(amount or 0.0, self.amount_residual):
            errors.append(
                self.env._(
                    "The amount of a payment link is always what remains due on the invoice, "
                    "%(due)s.",
                    due=self.currency_id.format(self.amount_residual),
                )
            )
        errors += self._paybylink_get_bank_errors(partner_bank)
        beneficiary_name = (beneficiary_name or "").strip()
        if not beneficiary_name:
            errors.append(self.env._("Enter the beneficiary name the customer's bank will show."))
        elif len(beneficiary_name) > const.BENEFICIARY_NAME_MAX_LENGTH:
            errors.append(
                self.env._(
                    "The beneficiary name has at most %(max)s characters, as for a SEPA transfer.",
                    max=const.BENEFICIARY_NAME_MAX_LENGTH,
                )
            )
        reference = (reference or "").strip()
        if not reference:
            errors.append(self.env._("Enter the reference the customer quotes on the transfer."))
        elif RF_REFERENCE_RE.match(iso11649.compact(reference)) and not iso11649.is_valid(
            reference
        ):
            errors.append(
                self.env._(
                    "%(reference)s looks like a creditor reference (RF) but its check digits are "
                    "wrong; banks would refuse it.",
                    reference=reference,
                )
            )
        elif len(reference) > const.REFERENCE_MAX_LENGTH:
            errors.append(
                self.env._(
                    "The reference has at most %(max)s characters, as for a SEPA transfer.",
                    max=const.REFERENCE_MAX_LENGTH,
                )
            )
        errors += self._paybylink_get_email_errors(email_to)
        return errors

    def _paybylink_get_bank_errors(self, partner_bank):
        self.ensure_one()
        if not partner_bank:
            return [self.env._("Choose the company bank account (IBAN) the customer pays to.")]
        if partner_bank.partner_id != self.company_id.partner_id:
            return [
                self.env._(
                    "Bank account %(account)s is not an account of %(company)s.",
                    account=partner_bank.display_name,
                    company=self.company_id.name,
                )
            ]
        try:
            validate_iban(partner_bank.acc_number)
        except ValidationError:
            return [
                self.env._(
                    "Bank account %(account)s is not a valid IBAN.", account=partner_bank.acc_number
                )
            ]
        return []

    @api.model
    def _paybylink_get_email_errors(self, email_to):
        addresses = self._paybylink_split_emails(email_to)
        if not addresses:
            return [self.env._("Enter the customer's email address.")]
        return [
            self.env._("%(address)s is not a valid email address.", address=address)
            for address in addresses
            if not single_email_re.match(address)
        ]

    @api.model
    def _paybylink_get_mail_errors(self, subject, body, url):
        """Return what is wrong with an email carrying the link at ``url``, as the accountant
        edited it: no subject, or a body without the link."""
        errors = []
        if not subject or not subject.strip():
            errors.append(self.env._("Enter the email subject."))
        if url not in (body or ""):
            errors.append(
                self.env._(
                    "The email body must contain the payment link %(url)s; put it back.", url=url
                )
            )
        return errors

    def _paybylink_split_emails(self, email_to):
        return [
            address.strip()
            for address in EMAIL_SEPARATORS_RE.split(email_to or "")
            if address.strip()
        ]

    @api.model
    def _paybylink_raise_errors(self, errors):
        if errors:
            raise UserError("\n".join(errors))

    # === BUSINESS METHODS - SENDING === #

    def _paybylink_send(self, token, link_values, subject, body):
        """Record this invoice's payment link and email it to the customer.

        Everything is checked again under a row lock, so two users sending at once, or a crafted
        call, cannot send a second link or a link with other details.

        :param str token: the link's token, as shown in ``body``
        :param dict link_values: ``amount``, ``partner_bank`` (record), ``beneficiary_name``,
            ``reference`` and ``email_to``
        :param str subject: the email's subject
        :param markupsafe.Markup body: the email's body; it must contain the link
        :raise UserError: if the link cannot be sent; then nothing is written
        """
        self.ensure_one()
        # Made before the lock: a payment of this invoice would wait for wkhtmltopdf meanwhile.
        attachments = self._paybylink_invoice_attachments()
        self._paybylink_lock()
        errors = self._paybylink_get_send_errors() or self._paybylink_get_link_errors(**link_values)
        errors += self._paybylink_get_mail_errors(
            subject, body, utils.build_page_url(self.get_base_url(), token)
        )
        self._paybylink_raise_errors(errors)
        link = self._paybylink_record_link(token, link_values)
        message = self._paybylink_post_mail(
            self.env.ref("paybylink_addon.mail_template_paybylink"),
            subject,
            body,
            attachments=attachments,
        )
        link.last_message_id = message
        link._set_state(
            "not_opened", self.env._("Payment link sent to %(email)s.", email=link.email)
        )

    def _paybylink_send_again(self, old_link):
        """Send the working link of this invoice, or a new one with ``old_link``'s details, to
        the address ``old_link`` went to (the customer asked from its page). A working link
        that expired is stopped and replaced.

        :raise UserError: if no link can be sent (``_paybylink_send``'s checks)
        """
        self.ensure_one()
        template = self.env.ref("paybylink_addon.mail_template_paybylink")
        working = self.paybylink_link_id.sudo()
        if working and working._is_expired():
            self._paybylink_stop_link(
                "expired", self.env._("it expired; the customer asked for a new one.")
            )
            working = working.browse()
        if working:
            subject, body = self._paybylink_render_mail(template, working.url, working.reference)
            working.last_message_id = self._paybylink_post_mail(
                template,
                subject,
                body,
                email_to=old_link.email,
                attachments=self._paybylink_invoice_attachments(),
            )
            return
        token = utils.generate_token()
        subject, body = self._paybylink_render_mail(
            template, utils.build_page_url(self.get_base_url(), token), old_link.reference
        )
        self._paybylink_send(
            token,
            {
                "amount": self.amount_residual,
                "partner_bank": old_link.partner_bank_id,
                "beneficiary_name": old_link.beneficiary_name,
                "reference": old_link.reference,
                "email_to": old_link.email,
            },
            subject,
            body,
        )

    def _paybylink_prepare_for_invoice_mail(self, token, link_values):
        """Record this invoice's payment link, to go out in the email that sends the invoice.

        Checked under a row lock as when the link is sent alone (``_paybylink_send``).

        :raise UserError: if the invoice cannot get this link; then nothing is written
        """
        self.ensure_one()
        self._paybylink_lock()
        self._paybylink_raise_errors(
            self._paybylink_get_send_errors() or self._paybylink_get_link_errors(**link_values)
        )
        self._paybylink_record_link(token, link_values)

    def _paybylink_mark_sent_with_invoice(self, message):
        """The invoice's email carrying the link left: the link counts as sent."""
        self.ensure_one()
        link = self.paybylink_link_id.sudo()
        link.last_message_id = message
        link._set_state(
            "not_opened",
            self.env._("Payment link sent with the invoice to %(email)s.", email=link.email),
        )

    def _paybylink_record_link(self, token, link_values):
        """Create this invoice's working link, not sent yet (no status).

        :return: the link
        :rtype: paybylink.link
        """
        self.ensure_one()
        link = (
            self.env["paybylink.link"]
            .sudo()
            .create(
                {
                    "move_id": self.id,
                    "company_id": self.company_id.id,
                    "token": token,
                    "sent_at": fields.Datetime.now(),
                    "currency_id": self.currency_id.id,
                    "amount": link_values["amount"],
                    "partner_bank_id": link_values["partner_bank"].id,
                    "beneficiary_name": link_values["beneficiary_name"].strip(),
                    "reference": link_values["reference"].strip(),
                    "email": ", ".join(self._paybylink_split_emails(link_values["email_to"])),
                }
            )
        )
        self._paybylink_write({"paybylink_link_id": link.id})
        return link

    def _paybylink_new_token(self):
        """A new token for a link of this invoice, and the proof that the server made it for it
        (see ``paybylink.link.token.mixin``).

        :return: the token and its proof
        :rtype: tuple[str, str]
        """
        self.ensure_one()
        token = utils.generate_token()
        return token, self._paybylink_token_proof(token)

    def _paybylink_token_proof(self, token):
        self.ensure_one()
        return hmac(self.env(su=True), const.TOKEN_PROOF_SCOPE, (self.id, token))

    def _paybylink_default_link_values(self):
        """What a new link of this invoice carries unless the accountant changes it: what is due,
        the company's IBAN for links (else the invoice's, else the company's first IBAN), the
        company's name and the invoice's payment reference, to the customer's email."""
        self.ensure_one()
        company_accounts = self.company_id.partner_id.bank_ids
        candidates = (
            self.company_id.paybylink_partner_bank_id
            | self.partner_bank_id
            | company_accounts.filtered(lambda account: account.acc_type == "iban")
        )
        return {
            "amount": self.amount_residual,
            "partner_bank": (candidates & company_accounts)[:1],
            "beneficiary_name": self.company_id.name,
            "reference": self._paybylink_default_reference(),
            "email_to": self.partner_id.email,
        }

    def _paybylink_default_reference(self):
        """The invoice's payment reference; with the company's option, an ISO 11649 creditor
        reference (RF) when it has none, as Odoo's own "European" invoice references make it:
        banks carry it whole, so the transfer can be matched."""
        self.ensure_one()
        reference = self.payment_reference or self.name
        if self.company_id.paybylink_rf_reference and not iso11649.is_valid(reference):
            reference = self._get_invoice_reference_euro_invoice()
        return reference

    def _paybylink_send_reminder(self, locked=False, subject=None, body=None):
        """Email the link again, checked under a row lock.

        :param bool locked: the caller locked the row in this transaction and read it since
        :param str subject: the email's subject, as the accountant edited it; else the template's
        :param markupsafe.Markup body: the email's body, likewise; it must contain the link
        """
        self.ensure_one()
        link = self.paybylink_link_id.sudo()
        if not locked:
            link._lock()
        errors = []
        if not link.state or self.state != "posted":
            errors.append(
                self.env._("No payment link was sent for %(name)s.", name=self.display_name)
            )
        elif link._is_paid():
            errors.append(self.env._("Invoice %(name)s is already paid.", name=self.display_name))
        elif self.payment_state == "blocked":
            errors.append(
                self.env._(
                    "Invoice %(name)s is in dispute (its payment is blocked): no reminder.",
                    name=self.display_name,
                )
            )
        # Refused before anything is rendered: a batch renders no email it will not send.
        self._paybylink_raise_errors(errors)
        template = self.env.ref("paybylink_addon.mail_template_paybylink_reminder")
        lang = self._paybylink_mail_lang(template)
        if body is None:
            subject, body = self._paybylink_render_mail(template, link.url, link.reference, lang)
        else:
            self._paybylink_raise_errors(self._paybylink_get_mail_errors(subject, body, link.url))
        message = self._paybylink_post_mail(template, subject, body, lang)
        link.write(
            {
                "last_message_id": message.id,
                "reminder_count": link.reminder_count + 1,
                "last_reminder_at": fields.Datetime.now(),
                "reminder_failed_at": False,
                "reminder_error": False,
            }
        )

    def _paybylink_render_mail(self, template, url, reference, lang=None):
        """Render ``template`` for this invoice in the customer's language.

        :param template: a ``mail.template`` of ``account.move`` that uses ``paybylink_url`` and
            ``paybylink_reference``
        :param str url: the customer's page
        :param str reference: the reference to quote on a transfer
        :param str lang: the language, when the caller already rendered the template's
        :return: the subject and the HTML body
        :rtype: tuple[str, markupsafe.Markup]
        """
        self.ensure_one()
        template = template.with_context(lang=lang or self._paybylink_mail_lang(template))
        render_context = {"paybylink_url": url, "paybylink_reference": reference}
        subject, body = (
            template._render_field(field, self.ids, add_context=render_context)[self.id]
            for field in ("subject", "body_html")
        )
        return subject, body

    def _paybylink_mail_lang(self, template):
        """The language ``template`` writes to this invoice's customer in."""
        self.ensure_one()
        return template._render_lang(self.ids)[self.id]

    def _paybylink_post_mail(
        self, template, subject, body, lang=None, email_to=None, attachments=None
    ):
        """Email ``body`` to the link's recipients through the chatter and Odoo's mail queue.

        :param template: the ``mail.template`` the body comes from; it gives the sender and the
            language of the email's frame, as in Odoo's own invoice sending
        :param str lang: that language, when the caller already rendered it
        :param str email_to: other recipients than the working link's
        :param dict attachments: ``message_post``'s attachments, as
            ``_paybylink_invoice_attachments`` gives them
        :return: the message posted
        :rtype: mail.message
        """
        self.ensure_one()
        partners = self.env["res.partner"]
        for address in self._paybylink_split_emails(email_to or self.paybylink_email):
            partners |= self._paybylink_find_recipient(address)
        lang = lang or self._paybylink_mail_lang(template)
        email_from = template.with_context(lang=lang)._render_field("email_from", self.ids)[self.id]
        # A note reaches exactly the chosen recipients; a comment would also email every follower.
        message = self.message_post(
            body=body,
            subject=subject,
            partner_ids=partners.ids,
            email_from=email_from or None,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            email_layout_xmlid="mail.mail_notification_light",
            model_description=self.with_context(lang=lang).type_name,
            force_email_lang=lang,
            **(attachments or {}),
        )
        return message

    def _paybylink_invoice_attachments(self):
        """The invoice's PDF for a link's email, as ``message_post`` takes it, if the company
        attaches it: the one Odoo's Send made, else one rendered now (and kept with the
        message)."""
        self.ensure_one()
        if not self.company_id.paybylink_attach_invoice:
            return {}
        if self.invoice_pdf_report_id:
            return {"attachment_ids": self.invoice_pdf_report_id.ids}
        filename, content, _mimetype = self._paybylink_invoice_pdf()
        return {"attachments": [(filename, content)]}

    def _paybylink_invoice_pdf(self):
        """The invoice's PDF as its link gives it, in the email and on the customer's page: the
        one Odoo's Send made and kept (the legal document the customer was sent, as Odoo's
        portal gives it), else one rendered now in the customer's language.

        :return: the file's name, content and MIME type
        :rtype: tuple[str, bytes, str]
        """
        self.ensure_one()
        if pdf := self.invoice_pdf_report_id:
            return pdf.name, pdf.raw, pdf.mimetype
        content, _report_type = (
            self.env["ir.actions.report"]
            .sudo()
            .with_context(lang=self.partner_id.lang)
            ._render_qweb_pdf("account.account_invoices", self.ids)
        )
        return self._get_invoice_report_filename(), content, "application/pdf"

    def _paybylink_find_recipient(self, address):
        """Return the partner to notify at ``address``: the invoice's customer or one of its
        contacts when the address is theirs, else a contact found or created as the mail composer
        does."""
        normalized = email_normalize(address)
        customer = self.partner_id | self.commercial_partner_id.child_ids
        known = customer.filtered(lambda partner: partner.email_normalized == normalized)
        if known:
            return known[0]
        return self.env["res.partner"]._find_or_create_from_emails([address])[0]

    def _paybylink_write(self, vals):
        """Write the link's own fields, which are not accounting: without the journal items'
        re-synchronisation and balance check that every invoice write runs (the costliest part
        of a reminder), and without marking the invoice as manually modified."""
        return self.with_context(
            skip_invoice_sync=True, check_move_validity=False, skip_is_manually_modified=True
        ).write(vals)

    def _paybylink_lock(self):
        """Lock these invoices' rows while a link is made for them (``utils.lock_rows``), so
        that two users sending at once cannot make two links.

        :raise UserError: if another transaction holds one of them for more than a few seconds;
            this transaction stays usable
        """
        utils.lock_records(
            self,
            self.env._("This invoice is being updated by someone else; try again in a moment."),
        )

    def _paybylink_lock_available(self):
        """Lock those of these invoices that no other transaction holds, with their working
        links (first, as everywhere: see ``paybylink.link``), and return them: a batch job
        leaves the others to its next run rather than wait for them or fail."""
        links = self.paybylink_link_id.sudo()._lock_available()
        lockable = self.filtered(
            lambda move: not move.paybylink_link_id or move.paybylink_link_id in links
        )
        locked = utils.lock_rows(self.env.cr, self._table, lockable.ids, skip_locked=True)
        self.invalidate_recordset()
        return self.filtered(lambda move: move.id in locked)

    # === BUSINESS METHODS - STATUS === #

    def _paybylink_log_bank_payments(self, lines, customer_set):
        """Log on each of these invoices the bank line that paid it (at the same position in
        ``lines``), and on the line's entry the invoice it paid and, for the lines in
        ``customer_set``, that they took its customer; an invoice paid in part keeps its link in
        progress."""
        if not self:
            return
        invoices = self.with_env(self[0]._paybylink_in_company_lang().env)
        invoice_notes, entry_notes = {}, {}
        for invoice, line in zip(invoices, lines, strict=True):
            invoice_notes[invoice.id] = invoices.env._(
                "Bank line %(label)s of %(date)s (%(amount)s) reconciled with this invoice.",
                label=line.payment_ref or line.ref or line.id,
                date=line.date,
                amount=line.currency_id.format(line.amount),
            )
            entry_notes[line.move_id.id] = (
                invoices.env._(
                    "Reconciled with invoice %(invoice)s, paid by link; its customer, "
                    "%(customer)s, was set on this line.",
                    invoice=invoice.name,
                    customer=invoice.commercial_partner_id.display_name,
                )
                if line in customer_set
                else invoices.env._(
                    "Reconciled with invoice %(invoice)s, paid by link.", invoice=invoice.name
                )
            )
        invoices._message_log_batch(invoice_notes, message_type="comment")
        lines.move_id.with_env(invoices.env)._message_log_batch(entry_notes, message_type="comment")
        invoices.filtered(
            lambda invoice: invoice.payment_state == "partial"
        ).paybylink_link_id.sudo()._set_state(
            "in_progress",
            invoices.env._("A bank transfer paid part of the invoice; the rest is due."),
        )

    def _paybylink_invoice_is_paid(self):
        self.ensure_one()
        return self.payment_state in const.PAID_PAYMENT_STATES

    def _paybylink_is_closed(self):
        """Whether this invoice's link asks for nothing now: paid, reversed, or in dispute
        (payment blocked): no reminder, no online payment, no bank line matched to it."""
        self.ensure_one()
        return self.payment_state in const.CLOSED_PAYMENT_STATES

    def _paybylink_in_company_lang(self):
        """This invoice in its company's language, for the chatter notes of what customers and
        Stripe do: the chatter is read by the company's accountants, not by the customer."""
        self.ensure_one()
        return self.with_context(lang=self.company_id.partner_id.lang or self.env.lang)

    # === OVERRIDES === #

    @api.model
    def _cron_paybylink_send_reminders(self):
        """Email unpaid links again on each company's schedule: one batch a call.

        Who is due is decided in SQL on rows locked with SKIP LOCKED, so that two workers never
        remind the same invoice. The batch's progress goes to ``ir.cron._notify_progress``:
        Odoo commits it with the reminders queued and calls again while some are due, so a crash
        loses or doubles none (what was not committed is simply due again).
        """
        today = fields.Date.context_today(self)
        companies = (
            self.env["res.company"].sudo().search([("paybylink_reminder_days", "!=", False)])
        )
        done = 0
        for company in companies:
            moves = self._paybylink_due_for_reminder(
                company, today, limit=const.REMINDER_BATCH_SIZE - done
            )
            moves.with_company(company)._paybylink_send_due_reminders()
            done += len(moves)
            if done >= const.REMINDER_BATCH_SIZE:
                break
        remaining = 0
        if done >= const.REMINDER_BATCH_SIZE:
            remaining = sum(
                self._paybylink_count_due_for_reminder(company, today) for company in companies
            )
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

    def _paybylink_send_due_reminders(self):
        """Remind these invoices, locked by ``_paybylink_due_for_reminder``, queuing the emails.

        One that cannot be reminded, whatever the failure, is logged, noted once on its invoice
        and left until the next day: one bad record must not fail every company's run, which
        Odoo would end by deactivating the cron.
        """
        for move in self.with_context(mail_notify_force_send=False):
            try:
                with self.env.cr.savepoint():
                    move._paybylink_send_reminder(locked=True)
                continue
            except UserError as error:
                _logger.warning("No reminder for %s: %s", move.name, error)
                reason = error.args[0]
            except Exception as error:
                _logger.exception("Reminder of %s failed; the others go on", move.name)
                reason = self.env._("unexpected error (%(error)s)", error=repr(error))
            move.paybylink_link_id.sudo()._reminder_failed(reason)

    @api.model
    def _paybylink_due_for_reminder(self, company, today, after_id=0, limit=100):
        """The invoices of ``company`` whose link is due for a reminder ``today``, locked
        (``_paybylink_reminder_due_sql``).

        :return: at most ``limit`` invoices with an id above ``after_id``, by id
        """
        due = self._paybylink_reminder_due_sql(company, today)
        if due is None:
            return self.browse()
        self.env.cr.execute(
            SQL(
                """SELECT move.id %s AND move.id > %s
                 ORDER BY move.id
                    LIMIT %s
                      FOR NO KEY UPDATE OF link SKIP LOCKED""",
                due,
                after_id,
                limit,
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _paybylink_count_due_for_reminder(self, company, today):
        """How many invoices of ``company`` are due for a reminder ``today``, locking none."""
        due = self._paybylink_reminder_due_sql(company, today)
        if due is None:
            return 0
        self.env.cr.execute(SQL("SELECT COUNT(*) %s", due))
        return self.env.cr.fetchone()[0]

    @api.model
    def _paybylink_reminder_due_sql(self, company, today):
        """The ``FROM ... WHERE`` of the invoices of ``company`` due for a reminder ``today``
        (``move`` and ``link`` name their rows), or None when the company sends none.

        Due: a link still working and unpaid, reminders allowed for it and its customer, under
        the maximum, no reminder of it failed today, and one of the company's steps (days from
        the due date) fell after the link was last sent or reminded, and not later than today.
        Steps missed while the cron did not run make one reminder, not several. An email the
        mail server could not take (the server was down) is sent again the next day: it never
        reached the customer.
        """
        offsets = company._paybylink_reminder_day_offsets()
        if not offsets or company.paybylink_reminder_max <= 0:
            return None
        states = ["not_opened", "interrupted"]
        if company.paybylink_reminder_in_progress:
            states.append("in_progress")
        self.flush_model()
        self.env["paybylink.link"].flush_model()
        self.env["res.partner"].flush_model(["paybylink_no_reminder"])
        self.env["mail.notification"].flush_model(["notification_status"])
        return SQL(
            """FROM account_move move
                 JOIN paybylink_link link ON link.id = move.paybylink_link_id
                 JOIN res_partner customer ON customer.id = move.commercial_partner_id
                WHERE move.company_id = %(company)s
                  AND move.move_type = 'out_invoice'
                  AND move.state = 'posted'
                  AND link.active
                  AND link.state IN %(states)s
                  AND move.payment_state NOT IN %(closed)s
                  AND NOT COALESCE(move.paybylink_no_reminder, FALSE)
                  AND NOT COALESCE(customer.paybylink_no_reminder, FALSE)
                  AND COALESCE(link.reminder_count, 0) < %(max)s
                  AND (link.reminder_failed_at IS NULL OR link.reminder_failed_at::date < %(today)s)
                  AND (%(validity)s = 0
                       OR link.sent_at + make_interval(days => %(validity)s) > %(now)s)
                  AND (EXISTS (
                           SELECT 1 FROM unnest(%(offsets)s::int[]) AS step(days)
                            WHERE move.invoice_date_due + step.days <= %(today)s
                              AND move.invoice_date_due + step.days > COALESCE(
                                  link.last_reminder_at, link.sent_at
                              )::date)
                       OR COALESCE(link.last_reminder_at, link.sent_at)::date < %(today)s
                          AND EXISTS (
                           SELECT 1 FROM mail_notification notification
                            WHERE notification.mail_message_id = link.last_message_id
                              AND notification.notification_status = 'exception'))""",
            company=company.id,
            states=tuple(states),
            closed=const.CLOSED_PAYMENT_STATES,
            max=company.paybylink_reminder_max,
            validity=company.paybylink_validity_days or 0,
            now=fields.Datetime.now(),
            offsets=offsets,
            today=today,
        )

    @api.model
    def _cron_paybylink_reconcile(self):
        """Reconcile incoming bank lines with the linked invoices they pay, company by company,
        each batch committed; a company whose matching fails unexpectedly is logged and left to
        the next run, the others go on. Then flag the declared transfers still not received."""
        lines = self.env["account.bank.statement.line"]
        open_links = self._read_group(
            [
                ("paybylink_link_id", "!=", False),
                ("state", "=", "posted"),
                ("payment_state", "not in", const.CLOSED_PAYMENT_STATES),
            ],
            ["company_id"],
        )
        reconciled = lines
        for (company,) in open_links:
            # Not in a savepoint: the matching commits its batches, and undoes a failing one
            # itself.
            try:
                reconciled |= lines._paybylink_reconcile_company(company, commit=True)
            except Exception:
                _logger.exception(
                    "Bank matching of company %s failed; the others go on", company.id
                )
        # What the matching did not find, after days: the accountant is asked to look.
        self.env["paybylink.link"]._chase_late_transfers()
        self.env["ir.cron"]._notify_progress(done=len(reconciled), remaining=0)

    def action_paybylink_match_bank_lines(self):
        """Look now for bank lines that could pay these invoices, and reconcile them, as the
        cron would: for an accountant, or a billing administrator (on Odoo's Invoicing alone, the
        one who may reconcile, though Odoo then lets no one write bank lines: the matching does
        it as its cron does, the reconciliation still theirs). Committed with the user's
        request, as any reconciliation from a button."""
        accountant = self.env.su or self.env.user.has_group("account.group_account_user")
        if not (accountant or self.env.user.has_group("account.group_account_manager")):
            raise AccessError(
                self.env._("Reconciling bank lines needs an accountant or a billing administrator.")
            )
        self.check_access("write")
        matched = self if accountant else self.sudo()
        lines = matched.env["account.bank.statement.line"]
        reconciled = lines
        for company, invoices in matched.grouped("company_id").items():
            reconciled |= lines._paybylink_reconcile_company(company, invoices)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if reconciled else "info",
                "message": self.env._("%(count)s bank lines reconciled.", count=len(reconciled)),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def button_draft(self):
        # EXTENDS account: a link must not let anyone pay an invoice being changed or cancelled.
        # Before Odoo writes the invoice, its online payments end at Stripe, holding no lock,
        # and its link is locked, before the invoice as everywhere; a payment Odoo undoes then
        # takes the link out of "Paid" before it stops.
        # What Odoo would refuse the reset for is asked first, as it cannot undo ending them.
        linked = self.filtered("paybylink_link_id")
        if linked:
            linked.check_access("write")
            linked._check_draftable()
            posted = linked.filtered(lambda move: move.state == "posted")
            posted._check_fiscal_lock_dates()
            posted.line_ids._check_tax_lock_date()
        linked.paybylink_link_id.sudo()._end_online_payments()
        res = super().button_draft()
        cancelling = self.env.context.get("paybylink_cancelling")
        self._paybylink_stop_link(
            "cancel" if cancelling else "draft",
            self.env._("the invoice was cancelled.")
            if cancelling
            else self.env._("the invoice was reset to draft."),
        )
        return res

    def button_cancel(self):
        # EXTENDS account: Odoo resets posted invoices to draft before cancelling them; their
        # links then stop because of the cancellation.
        return super(AccountMove, self.with_context(paybylink_cancelling=True)).button_cancel()

    def _paybylink_stop_link(self, reason, cause):
        """Stop the working links of these invoices (``paybylink.link._stop``)."""
        links = self.paybylink_link_id.sudo()
        links._stop(reason, cause)
        self.filtered("paybylink_link_id")._paybylink_write({"paybylink_link_id": False})

    def _paybylink_stop_reversed(self):
        """Stop the working links of those of these invoices a credit note settles in full."""
        for move in self.filtered(
            lambda move: move.payment_state == "reversed" and move.paybylink_link_id
        ):
            move = move._paybylink_in_company_lang()
            move._paybylink_stop_link("reversed", move.env._("a credit note settles the invoice."))

    def _invoice_paid_hook(self):
        # EXTENDS account: whatever way an invoice gets paid, its link says so.
        res = super()._invoice_paid_hook()
        paid = self.paybylink_link_id.sudo()._set_state(
            "paid",
            self.env._("The invoice is paid."),
            paid_by=self.env.context.get("paybylink_paid_by"),
        )
        paid._send_payment_received()
        return res
