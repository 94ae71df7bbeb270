# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import logging

import stripe

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import const, utils

_logger = logging.getLogger(__name__)


@functools.cache
def _stripe_http_client(timeout):
    """The HTTP client of every Stripe client of this process: its ``requests`` session, one a
    thread, keeps the connection to Stripe open from one call to the next, where a client of
    its own per call made a TLS handshake each time. The key goes with each request, never
    with the connection."""
    return stripe.RequestsClient(timeout=timeout)


# Stripe's keys give access to the company's money: only accounting administrators see them.
STRIPE_KEY_READERS = "account.group_account_manager"


class ResCompany(models.Model):
    _inherit = "res.company"

    paybylink_partner_bank_id = fields.Many2one(
        comodel_name="res.partner.bank",
        string="Payment Link Bank Account",
        domain="[('partner_id', '=', partner_id)]",
        ondelete="set null",
        help="The IBAN offered by default when sending a payment link; without it, the invoice's "
        "own bank account.",
    )
    paybylink_validity_days = fields.Integer(
        string="Payment Link Validity (days)",
        help="Days after sending during which an unpaid link works; 0 keeps it working until paid.",
    )
    paybylink_email_help_link = fields.Boolean(
        string="Help Page Link in Emails",
        default=True,
        help="Payment link emails end with a link to the help page for customers.",
    )
    paybylink_renew_on_request = fields.Boolean(
        string="New Payment Link on Request",
        default=True,
        help="The page of an expired or replaced link lets the customer have the working link, "
        "or a new one, sent again to the address the old one went to (once a day); unticked, "
        "the accountant gets an activity instead.",
    )
    paybylink_attach_invoice = fields.Boolean(
        string="Invoice PDF in Payment Link Emails",
        default=True,
        help="The email that sends a payment link carries the invoice as a PDF.",
    )
    paybylink_send_receipt = fields.Boolean(
        string="Payment Received Emails",
        default=True,
        help="When the invoice of a payment link is paid online or by a transfer the matching "
        "found, the customer gets an email saying the payment was received.",
    )
    paybylink_rf_reference = fields.Boolean(
        string="Creditor References (RF) for Payment Links",
        help="Links of invoices without an RF reference get one (ISO 11649), which banks carry "
        "whole: quoted on transfers and in the QR code, it lets them be matched to the invoice.",
    )
    paybylink_send_with_invoice = fields.Boolean(
        string="Payment Link With Invoices",
        help="Sending an invoice by email adds its payment link, unless unticked in the Send form.",
    )
    paybylink_reminder_days = fields.Char(
        string="Payment Link Reminder Days",
        default="-3,3,10,30",
        help="When unpaid links are emailed again, in days from the invoice's due date (negative: "
        "before it), separated by commas; empty: never.",
    )
    paybylink_reminder_max = fields.Integer(
        string="Payment Link Maximum Reminders",
        default=4,
        help="Reminders an invoice gets at most on schedule; those sent by hand count too.",
    )
    paybylink_reminder_in_progress = fields.Boolean(
        string="Remind While a Payment Is in Progress",
        help="Also remind customers who started paying or announced a transfer.",
    )
    paybylink_stripe_secret_key = fields.Char(
        string="Stripe Secret Key", groups=STRIPE_KEY_READERS, copy=False
    )
    paybylink_stripe_webhook_secret = fields.Char(
        string="Stripe Webhook Signing Secret",
        groups=STRIPE_KEY_READERS,
        copy=False,
        help="The signing secret of the Stripe webhook endpoint /paybylink/stripe/webhook; events "
        "are refused without it.",
    )
    # Technical: the secret key goes wherever this points. Only administrators see and change
    # it (in debug mode), and it must be https, or http on a loopback address (a stand-in).
    paybylink_stripe_api_base = fields.Char(
        string="Stripe API Base",
        default=const.STRIPE_DEFAULT_API_BASE,
        groups="base.group_system",
        help="Where Stripe's API is reached: https://api.stripe.com, or a local stand-in on this "
        "machine for tests.",
    )
    paybylink_stripe_journal_id = fields.Many2one(
        comodel_name="account.journal",
        string="Stripe Payments Journal",
        domain="[('type', '=', 'bank'), ('company_id', '=', id)]",
        ondelete="restrict",
        help="The journal where payments received through Stripe are registered.",
    )
    paybylink_stripe_payment_methods = fields.Char(
        string="Stripe Payment Methods",
        default="card",
        help="Stripe's codes of the payment methods offered, separated by commas: "
        + ", ".join(const.STRIPE_PAYMENT_METHODS),
    )
    paybylink_stripe_checkout_minutes = fields.Integer(
        string="Stripe Checkout Expiry (minutes)",
        default=60,
        help="How long a customer has to finish paying online once started, from 30 minutes to "
        "24 hours.",
    )

    @api.constrains("paybylink_reminder_days", "paybylink_reminder_max")
    def _check_paybylink_reminders(self):
        for company in self:
            try:
                company._paybylink_reminder_day_offsets()
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "Reminder days are whole numbers of days from the due date, separated by "
                        "commas, such as -3,3,10,30."
                    )
                ) from error
            if company.paybylink_reminder_max < 0:
                raise ValidationError(
                    self.env._("The maximum number of reminders cannot be negative.")
                )

    def _paybylink_reminder_day_offsets(self):
        """The reminder steps, in days from the due date, in order.

        :raise ValueError: if the setting is not a list of whole numbers
        """
        self.ensure_one()
        return sorted(
            {int(day) for day in (self.paybylink_reminder_days or "").split(",") if day.strip()}
        )

    @api.constrains("paybylink_stripe_api_base")
    def _check_paybylink_stripe_api_base(self):
        for company in self:
            api_base = company.paybylink_stripe_api_base
            if api_base and not utils.is_safe_api_base(api_base):
                raise ValidationError(
                    self.env._(
                        "The Stripe API base must be an https address, such as %(default)s "
                        "(http only for a stand-in on this machine: localhost, 127.0.0.1).",
                        default=const.STRIPE_DEFAULT_API_BASE,
                    )
                )

    @api.constrains("paybylink_stripe_payment_methods")
    def _check_paybylink_stripe_payment_methods(self):
        for company in self:
            methods = company._paybylink_stripe_payment_method_codes()
            unknown = [code for code in methods if code not in const.STRIPE_PAYMENT_METHODS]
            if unknown or not methods:
                raise ValidationError(
                    self.env._(
                        "Stripe payment methods must be some of %(known)s, separated by commas.",
                        known=", ".join(const.STRIPE_PAYMENT_METHODS),
                    )
                )

    @api.constrains("paybylink_stripe_checkout_minutes")
    def _check_paybylink_stripe_checkout_minutes(self):
        for company in self:
            minutes = company.paybylink_stripe_checkout_minutes
            bounds = (const.STRIPE_CHECKOUT_MIN_MINUTES, const.STRIPE_CHECKOUT_MAX_MINUTES)
            if not bounds[0] <= minutes <= bounds[1]:
                raise ValidationError(
                    self.env._(
                        "Stripe Checkout expires between %(min)s and %(max)s minutes after it "
                        "starts.",
                        min=bounds[0],
                        max=bounds[1],
                    )
                )

    @api.constrains("paybylink_stripe_journal_id")
    def _check_paybylink_stripe_journal(self):
        for company in self:
            journal = company.paybylink_stripe_journal_id
            if journal and not journal.inbound_payment_method_line_ids:
                raise ValidationError(
                    self.env._(
                        "Journal %(journal)s has no incoming payment method for Stripe payments.",
                        journal=journal.display_name,
                    )
                )

    def _paybylink_stripe_payment_method_codes(self):
        self.ensure_one()
        return [
            code.strip()
            for code in (self.paybylink_stripe_payment_methods or "").split(",")
            if code.strip()
        ]

    def _paybylink_stripe_is_configured(self):
        """Whether customers of this company can pay online: a key and a journal are set."""
        self.ensure_one()
        company_sudo = self.sudo()
        return bool(
            company_sudo.paybylink_stripe_secret_key and company_sudo.paybylink_stripe_journal_id
        )

    def _paybylink_stripe_client(self):
        """Return the Stripe client of this company: its own key, API base and timeouts.

        The one place a ``stripe.StripeClient`` is built; nothing sets ``stripe.api_key``, so that
        companies never share a key.
        """
        self.ensure_one()
        company_sudo = self.sudo()
        api_base = company_sudo.paybylink_stripe_api_base or const.STRIPE_DEFAULT_API_BASE
        if not utils.is_safe_api_base(api_base):
            # Stored before it was checked (an older version, SQL): the key goes to Stripe only.
            _logger.warning(
                "Company %s: Stripe API base %r is not https nor loopback; using %s",
                self.id,
                api_base,
                const.STRIPE_DEFAULT_API_BASE,
            )
            api_base = const.STRIPE_DEFAULT_API_BASE
        return stripe.StripeClient(
            company_sudo.paybylink_stripe_secret_key,
            base_addresses={"api": api_base},
            max_network_retries=const.STRIPE_MAX_NETWORK_RETRIES,
            http_client=_stripe_http_client(const.STRIPE_TIMEOUT),
        )
