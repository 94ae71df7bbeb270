# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.tools import consteq

from .. import utils


class PaybylinkLinkTokenMixin(models.AbstractModel):
    """A form that shows the payment link it is about to send.

    The token is made when the form opens, so that the email's body shows the very link that
    goes out; it then travels to the browser and back with the form. It comes back only with
    the proof that the server made it for the form's invoice (``move_id``): a token that a
    caller chose, or one without its proof, is replaced by a new one.
    """

    _name = "paybylink.link.token.mixin"
    _description = "Payment Link Token of a Form"

    # The form's fields for the token and for its proof, both readonly and saved by the view.
    _paybylink_token_fields = ("token", "token_proof")

    @api.model
    def default_get(self, fields_list):
        return self._paybylink_ensure_token(super().default_get(fields_list))

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._add_missing_default_values(vals) for vals in vals_list]
        # The form shows the invoice's details (total, IBAN, customer, email): only to those
        # who may change the invoice, not to a user of another company naming its id.
        self.env["account.move"].browse(
            vals["move_id"] for vals in vals_list if vals.get("move_id")
        ).check_access("write")
        return super().create([self._paybylink_ensure_token(vals) for vals in vals_list])

    def write(self, vals):
        # A saved form written again (over RPC) meets the same rule as one created.
        token_field, proof_field = self._paybylink_token_fields
        if not {token_field, proof_field, "move_id"} & vals.keys():
            return super().write(vals)
        self.env["account.move"].browse(vals.get("move_id")).check_access("write")
        for form in self:
            form_vals = {
                "move_id": form.move_id.id,
                token_field: form[token_field],
                proof_field: form[proof_field],
                **vals,
            }
            super(PaybylinkLinkTokenMixin, form).write(self._paybylink_ensure_token(form_vals))
        return True

    @api.model
    def _paybylink_ensure_token(self, vals):
        """``vals`` with the token it came with if its proof holds for its invoice, else with a
        new one (changed in place)."""
        token_field, proof_field = self._paybylink_token_fields
        move = self.env["account.move"].browse(vals.get("move_id"))
        token, proof = vals.get(token_field), vals.get(proof_field)
        if move and not (
            utils.is_well_formed_token(token)
            and isinstance(proof, str)
            and consteq(move._paybylink_token_proof(token), proof)
        ):
            vals[token_field], vals[proof_field] = move._paybylink_new_token()
        return vals
