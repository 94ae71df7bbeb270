# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class PaybylinkReminderWizard(models.TransientModel):
    """The reminder of one invoice's payment link, shown before it goes and editable; it says
    when one already went today."""

    _name = "paybylink.reminder.wizard"
    _description = "Send a payment link reminder"
    _check_company_auto = True

    move_id = fields.Many2one(
        comodel_name="account.move",
        string="Invoice",
        required=True,
        readonly=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(related="move_id.company_id", store=True)
    email = fields.Char(related="move_id.paybylink_email", string="Sent To")
    last_reminder_at = fields.Datetime(related="move_id.paybylink_last_reminder_at")
    reminded_today = fields.Boolean(compute="_compute_reminded_today")
    subject = fields.Char(
        string="Email subject",
        compute="_compute_subject_body",
        store=True,
        precompute=True,
        readonly=False,
    )
    body = fields.Html(
        string="Email body",
        compute="_compute_subject_body",
        store=True,
        precompute=True,
        readonly=False,
    )

    @api.model_create_multi
    def create(self, vals_list):
        # The form shows the customer's email and the invoice: only to who may remind it.
        self.env["account.move"].browse(
            vals["move_id"] for vals in vals_list if vals.get("move_id")
        ).check_access("write")
        return super().create(vals_list)

    @api.depends("last_reminder_at")
    @api.depends_context("tz")
    def _compute_reminded_today(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            wizard.reminded_today = bool(
                wizard.last_reminder_at
                and fields.Date.context_today(wizard, wizard.last_reminder_at) == today
            )

    @api.depends("move_id")
    def _compute_subject_body(self):
        template = self.env.ref("paybylink_addon.mail_template_paybylink_reminder")
        for wizard in self:
            link = wizard.move_id.paybylink_link_id.sudo()
            if not link:
                wizard.subject = wizard.body = False
                continue
            wizard.subject, wizard.body = wizard.move_id._paybylink_render_mail(
                template, link.url, link.reference
            )

    def action_send(self):
        """Send the reminder as shown, checked under the link's lock."""
        self.ensure_one()
        self.move_id._paybylink_send_reminder(subject=self.subject, body=self.body)
        return {"type": "ir.actions.act_window_close"}
