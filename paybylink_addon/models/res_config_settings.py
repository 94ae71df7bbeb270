# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .res_company import STRIPE_KEY_READERS


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
    paybylink_stripe_checkout_minutes = fields.Integer(
        related="company_id.paybylink_stripe_checkout_minutes", readonly=False
    )
