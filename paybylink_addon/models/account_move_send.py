# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from urllib.parse import urlsplit

from markupsafe import Markup

from odoo import api, models
from odoo.exceptions import UserError

from .. import utils


class AccountMoveSend(models.AbstractModel):
    """Odoo's invoice sending (one invoice or a batch) can carry the payment link in its email.

    ``moves_data[move]["paybylink"]`` says what to do: falsy for no link, ``True`` for a link
    with the invoice's defaults (the batch, the company's setting), or the values the accountant
    chose in the Send form (``token``, ``partner_bank``, ``beneficiary_name``, ``reference``).
    """

    _inherit = "account.move.send"

    # === DEFAULTS === #

    @api.model
    def _paybylink_is_offered(self, move, sending_methods):
        """Whether sending ``move`` this way can add a payment link: a posted customer invoice
        without a link yet, sent by email."""
        return (
            "email" in (sending_methods or ())
            and move.move_type == "out_invoice"
            and move.state == "posted"
            and not move.paybylink_link_id
        )

    @api.model
    def _get_default_sending_settings(self, move, from_cron=False, **custom_settings):
        # EXTENDS account: keep the link's settings, which Odoo drops unless listed here.
        vals = super()._get_default_sending_settings(move, from_cron=from_cron, **custom_settings)
        if self._paybylink_is_offered(move, vals["sending_methods"]):
            vals["paybylink"] = custom_settings.get(
                "paybylink", move.company_id.paybylink_send_with_invoice
            )
        return vals

    @api.model
    def _paybylink_link_values(self, move, move_data):
        """The token and the link's values of ``move`` as ``_paybylink_prepare_for_invoice_mail``
        takes them, for the email's recipients."""
        chosen = move_data.get("paybylink")
        chosen = chosen if isinstance(chosen, dict) else {}
        values = {**move._paybylink_default_link_values(), **chosen}
        if move_data.get("mail_partner_ids"):
            recipients = self.env["res.partner"].browse(move_data["mail_partner_ids"])
            values["email_to"] = ", ".join(recipients.filtered("email").mapped("email"))
        token = values.pop("token", None) or utils.generate_token()
        return token, values

    # === ALERTS === #

    @api.model
    def _get_alerts(self, moves, moves_data):
        # EXTENDS account: say which invoices cannot get their link, and why, before sending.
        alerts = super()._get_alerts(moves, moves_data)
        refusals = []
        for move in moves:
            move_data = moves_data[move]
            if not self._paybylink_is_offered(move, move_data.get("sending_methods")):
                continue
            if not move_data.get("paybylink", move.company_id.paybylink_send_with_invoice):
                continue
            _token, values = self._paybylink_link_values(move, move_data)
            errors = move._paybylink_get_send_errors() or move._paybylink_get_link_errors(**values)
            refusals += [f"{move.name}: {error}" for error in errors]
        if refusals:
            alerts["paybylink_refused"] = {
                "level": "danger" if len(moves) == 1 else "warning",
                "message": self.env._(
                    "No payment link can be added for:\n%(refusals)s",
                    refusals="\n".join(refusals),
                ),
            }
        return alerts

    # === SENDING === #

    @api.model
    def _hook_if_success(self, moves_data):
        # EXTENDS account: record each link, put it in its invoice's email, then count it sent
        # once the email is posted. An invoice that cannot get its link still goes, without it.
        linked = self.env["account.move"]
        for move, move_data in moves_data.items():
            if not move_data.get("paybylink") or not self._paybylink_is_offered(
                move, move_data["sending_methods"]
            ):
                continue
            token, values = self._paybylink_link_values(move, move_data)
            try:
                with self.env.cr.savepoint():
                    move._paybylink_prepare_for_invoice_mail(token, values)
            except UserError as error:
                move.message_post(
                    body=self.env._(
                        "The invoice was sent without a payment link: %(reason)s",
                        reason=error.args[0],
                    ),
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                continue
            move_data["mail_body"] = self._paybylink_body_with_link(
                move, move_data["mail_body"], move_data.get("mail_lang"), move.paybylink_url
            )
            linked |= move
        res = super()._hook_if_success(moves_data)
        for move in linked:
            move._paybylink_mark_sent_with_invoice(move.message_ids[:1])
        return res

    @api.model
    def _paybylink_body_with_link(self, move, body, lang, url):
        """``body`` giving the link ``url``: as it is if it has it; else with any other link to a
        customer's page turned into it (a body shown before the form's token was replaced, see
        ``paybylink.link.token.mixin``), so that no dead link goes out; else ending with the
        block that gives it."""
        if url in (body or ""):
            return body
        if body and utils.PAGE_PATH_RE.search(body):
            return Markup(utils.PAGE_PATH_RE.sub(urlsplit(url).path, body))
        block = (
            self.env["ir.qweb"]
            .with_context(lang=lang)
            ._render(
                "paybylink_addon.paybylink_invoice_mail_block",
                {"object": move, "paybylink_url": url},
            )
        )
        return Markup(body or "") + block
