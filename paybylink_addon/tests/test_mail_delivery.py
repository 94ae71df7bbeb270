# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PayByLinkCommon

from smtp_sink import SmtpSink


@tagged("post_install", "-at_install")
class TestPaybylinkMailDelivery(PayByLinkCommon):
    """The link leaves through Odoo's real mail queue and SMTP client, to a local SMTP server."""

    def send_queued_link(self):
        # Queue the email instead of sending it at once, then run the queue as its cron does.
        self.send_link(self.invoice.with_context(mail_notify_force_send=False))
        self.process_mail_queue()

    def test_email_reaches_the_smtp_server(self):
        with SmtpSink() as sink:
            self.use_smtp_port(sink.port)
            self.send_queued_link()
        self.assertEqual(len(sink.messages), 1)
        email = sink.messages[0]
        self.assertEqual(email["To"], "Camille Martin <camille.martin@example.com>")
        # Sent on behalf of the salesperson of the invoice, as Odoo's own invoice emails.
        self.assertIn(self.invoice.invoice_user_id.email, email["From"])
        self.assertEqual(
            email["Subject"], f"Atelier Lumière\xa0: payer la facture {self.invoice.name}"
        )
        url = self.invoice.paybylink_url
        html = email.get_body(("html",)).get_content()
        text = email.get_body(("plain",)).get_content()
        self.assertIn(f'href="{url}"', html)
        self.assertIn(url, text, "mail clients without HTML get the link as text")
        self.assertFalse(self.invoice.paybylink_mail_failure)

    @mute_logger("odoo.addons.mail.models.mail_mail")
    def test_undelivered_email_is_visible_on_the_invoice(self):
        self.use_smtp_port(self.closed_port())
        self.send_queued_link()
        self.invoice.invalidate_recordset()
        self.assertTrue(self.invoice.paybylink_mail_failure)
        notification = self.invoice.paybylink_last_message_id.notification_ids
        self.assertEqual(notification.notification_status, "exception")
