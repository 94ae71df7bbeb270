# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .. import const
from .res_company import STRIPE_KEY_READERS


def stripe_method_field(string):
    """A tick box for one of ``const.STRIPE_PAYMENT_METHODS``, kept in the company's list of
    Stripe codes (``paybylink_stripe_payment_methods``)."""
    return fields.Boolean(
        string=string,
        compute="_compute_paybylink_stripe_methods",
        inverse="_inverse_paybylink_stripe_methods",
    )


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    paybylink_partner_bank_id = fields.Many2one(
        related="company_id.paybylink_partner_bank_id",
        readonly=False,
        domain="[('partner_id.ref_company_ids', '=', company_id)]",
    )
    paybylink_validity_days = fields.Integer(
        related="company_id.paybylink_validity_days", readonly=False
    )
    paybylink_email_help_link = fields.Boolean(
        related="company_id.paybylink_email_help_link", readonly=False
    )
    paybylink_renew_on_request = fields.Boolean(
        related="company_id.paybylink_renew_on_request", readonly=False
    )
    paybylink_attach_invoice = fields.Boolean(
        related="company_id.paybylink_attach_invoice", readonly=False
    )
    paybylink_send_receipt = fields.Boolean(
        related="company_id.paybylink_send_receipt", readonly=False
    )
    paybylink_rf_reference = fields.Boolean(
        related="company_id.paybylink_rf_reference", readonly=False
    )
    paybylink_send_with_invoice = fields.Boolean(
        related="company_id.paybylink_send_with_invoice", readonly=False
    )
    paybylink_reminder_days = fields.Char(
        related="company_id.paybylink_reminder_days", readonly=False
    )
    paybylink_reminder_max = fields.Integer(
        related="company_id.paybylink_reminder_max", readonly=False
    )
    paybylink_reminder_in_progress = fields.Boolean(
        related="company_id.paybylink_reminder_in_progress", readonly=False
    )
    paybylink_stripe_secret_key = fields.Char(
        related="company_id.paybylink_stripe_secret_key", readonly=False, groups=STRIPE_KEY_READERS
    )
    paybylink_stripe_webhook_secret = fields.Char(
        related="company_id.paybylink_stripe_webhook_secret",
        readonly=False,
        groups=STRIPE_KEY_READERS,
    )
    paybylink_stripe_api_base = fields.Char(
        related="company_id.paybylink_stripe_api_base", readonly=False, groups="base.group_system"
    )
    paybylink_stripe_journal_id = fields.Many2one(
        related="company_id.paybylink_stripe_journal_id", readonly=False
    )
    paybylink_stripe_payment_methods = fields.Char(
        related="company_id.paybylink_stripe_payment_methods", readonly=False
    )
    # One box per method, named for what customers see; the field names end with Stripe's code.
    paybylink_stripe_method_card = stripe_method_field("Card")
    paybylink_stripe_method_sepa_debit = stripe_method_field("SEPA Direct Debit")
    paybylink_stripe_method_bancontact = stripe_method_field("Bancontact")
    paybylink_stripe_method_ideal = stripe_method_field("iDEAL")
    paybylink_stripe_method_link = stripe_method_field("Link (Stripe)")
    paybylink_stripe_method_paypal = stripe_method_field("PayPal")

    @api.depends("company_id.paybylink_stripe_payment_methods")
    def _compute_paybylink_stripe_methods(self):
        for settings in self:
            offered = settings.company_id._paybylink_stripe_payment_method_codes()
            for code in const.STRIPE_PAYMENT_METHODS:
                settings[f"paybylink_stripe_method_{code}"] = code in offered

    def _inverse_paybylink_stripe_methods(self):
        for settings in self:
            settings.company_id.paybylink_stripe_payment_methods = ",".join(
                code
                for code in const.STRIPE_PAYMENT_METHODS
                if settings[f"paybylink_stripe_method_{code}"]
            )

    paybylink_stripe_checkout_minutes = fields.Integer(
        related="company_id.paybylink_stripe_checkout_minutes", readonly=False
    )
