# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, freeze_time, tagged
from odoo.tools import mute_logger

from .common import PayByLinkPageCommon

ASKED_BUTTON = "M'envoyer un nouveau lien"


@tagged("post_install", "-at_install")
class TestPaybylinkRenewal(PayByLinkPageCommon, HttpCase):
    """A customer whose link expired asks its page for a new one, over HTTP."""

    def setUp(self):
        super().setUp()
        self.company.paybylink_validity_days = 5
        self.old_link = self.invoice.paybylink_link_id
        self.old_link.sudo().sent_at = fields.Datetime.now() - timedelta(days=6)

    def ask_for_a_new_link(self, page=None):
        """Press "Send me a new link" on the page of the link at ``page``, as a browser does."""
        page = page or self.page
        html = self.url_open(page).text
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return self.url_open(f"{page}/renew", data={"csrf_token": csrf_token})

    def link_emails(self):
        """The emails to the customer about the invoice (not the accountant's notifications)."""
        return self.env["mail.mail"].search(
            [
                ("model", "=", "account.move"),
                ("res_id", "=", self.invoice.id),
                ("recipient_ids", "in", self.customer.ids),
            ]
        )

    def test_an_expired_link_gets_its_customer_a_new_one_once_a_day(self):
        response = self.url_open(self.page)
        self.assertEqual(response.status_code, 404)
        self.assertIn(ASKED_BUTTON, response.text)
        emails_before = self.link_emails()

        response = self.ask_for_a_new_link()
        self.assertEqual(response.status_code, 200)
        self.assertIn("c•••••@example.com", response.text, "where it went, partly masked")
        self.assertNotIn("camille.martin@example.com", response.text)
        self.invoice.invalidate_recordset()
        new_link = self.invoice.paybylink_link_id
        self.assertNotEqual(new_link, self.old_link)
        self.assertEqual(new_link.state, "not_opened")
        self.assertEqual(new_link.email, self.old_link.email)
        self.assertEqual(new_link.reference, self.old_link.reference)
        self.assertEqual(
            (self.old_link.active, self.old_link.stop_reason), (False, "expired"), "replaced"
        )
        (email,) = self.link_emails() - emails_before
        self.assertIn(new_link.url, email.body_html)
        self.assertEqual(email.recipient_ids.email, "camille.martin@example.com")
        self.assertEqual(self.url_open(f"/paybylink/{new_link.token}").status_code, 200)
        self.assertIn(
            "The customer asked for a new payment link from an old one's page: it was sent to",
            "".join(self.invoice.message_ids.mapped("preview")),
        )

        # Asked again the same day: said so, nothing sent.
        again = self.ask_for_a_new_link()
        self.assertIn("déjà été demandé aujourd'hui", again.text)
        self.assertEqual(len(self.link_emails() - emails_before), 1)
        self.invoice.invalidate_recordset()
        self.assertEqual(len(self.invoice.with_context(active_test=False).paybylink_link_ids), 2)

        # The next day, the old page sends the working link again, and makes no third.
        with freeze_time(fields.Datetime.now() + timedelta(days=1)):
            self.assertIn("a été envoyé", self.ask_for_a_new_link().text)
        self.assertEqual(len(self.link_emails() - emails_before), 2)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_link_id, new_link)

    def test_a_cancelled_invoice_offers_no_new_link(self):
        html = self.url_open(self.page).text  # the form, while the invoice was still due
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        self.invoice.button_cancel()
        response = self.url_open(self.page)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(ASKED_BUTTON, response.text)
        refused = self.url_open(f"{self.page}/renew", data={"csrf_token": csrf_token})
        self.assertEqual(refused.status_code, 404)
        self.invoice.invalidate_recordset()
        self.assertFalse(self.invoice.paybylink_link_id)
        self.assertEqual(len(self.invoice.with_context(active_test=False).paybylink_link_ids), 1)

    def test_with_the_setting_off_the_accountant_is_asked(self):
        self.company.paybylink_renew_on_request = False
        emails_before = self.link_emails()
        response = self.ask_for_a_new_link()
        self.assertIn("Votre demande a été transmise", response.text)
        self.assertFalse(self.link_emails() - emails_before, "nothing sent to the customer")
        activity = self.invoice.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.invoice.invoice_user_id)
        self.assertEqual(activity.summary, "Customer asks for a new payment link")
        self.ask_for_a_new_link()
        self.assertEqual(len(self.invoice.activity_ids), 1, "once a day")

    @mute_logger("odoo.http")
    def test_asking_needs_the_page_csrf_token(self):
        response = self.url_open(f"{self.page}/renew", data={"csrf_token": "forged"})
        self.assertEqual(response.status_code, 400)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_link_id, self.old_link)
