# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.tests import HttpCase, tagged

from .. import utils
from .common import PayByLinkCommon


@tagged("post_install", "-at_install")
class TestPaybylinkUi(PayByLinkCommon, HttpCase):
    """The back office as an accountant uses it, in a real browser."""

    def invoice_form_path(self):
        # The address the demo prints: Odoo 18's path for its customer invoices.
        return f"/odoo/invoicing/{self.invoice.id}"

    def test_send_a_link_from_the_invoice_form(self):
        self.start_tour(self.invoice_form_path(), "paybylink_send_tour", login=self.env.user.login)
        self.assertEqual(self.invoice.paybylink_state, "not_opened")
        self.assertEqual(self.invoice.paybylink_email, "camille.martin@example.com")
        self.assertTrue(self.invoice.paybylink_last_message_id)
        self.assertEqual(self.invoice.paybylink_reminder_count, 1, "the reminder the tour sent")

    def test_send_the_invoice_with_its_link_from_odoos_send_form(self):
        self.company.paybylink_partner_bank_id = self.company_iban
        # A company that has chosen its document layout: Odoo asks for none before sending.
        self.company.external_report_layout_id = self.env.ref("web.external_layout_standard")
        self.customer.lang = "en_US"
        self.start_tour(
            self.invoice_form_path(), "paybylink_send_with_invoice_tour", login=self.env.user.login
        )
        mail = (
            self.env["mail.mail"]
            .search([("model", "=", "account.move")])
            .filtered(lambda mail: mail.res_id == self.invoice.id)
        )
        self.assertEqual(len(mail), 1, "one email: the invoice and its link")
        body = mail.body_html
        self.assertEqual(body.count("Pay invoice"), 1, "one payment block")
        paths = set(utils.PAGE_PATH_RE.findall(body))
        self.assertEqual(len(paths), 1, "one link, the same in the button and in the text")
        self.assertEqual(self.invoice.paybylink_url, self.base_url() + paths.pop())
        page = self.url_open(self.invoice.paybylink_url)
        self.assertEqual(page.status_code, 200, "the link the customer gets works")
        self.assertTrue(re.search(re.escape(self.invoice.name), page.text))

    def test_the_paid_badge_reads_at_wcag_aa_contrast(self):
        self.send_link()
        self.pay()
        self.assertEqual(self.invoice.paybylink_state, "paid")
        # In the invoice list as the browser draws it: text and background of the badge, and
        # their contrast ratio as WCAG 2 defines it.
        self.browser_js(
            "/odoo/invoicing",
            """
            const find = async (selector) => {
                for (let attempt = 0; attempt < 100; attempt++) {
                    const element = document.querySelector(selector);
                    if (element) { return element; }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                throw new Error(`nothing matches ${selector}`);
            };
            const luminance = (css) => {
                const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((value) => {
                    const channel = value / 255;
                    return channel <= 0.03928
                        ? channel / 12.92
                        : ((channel + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            (async () => {
                const badge = await find("td[name='paybylink_state'] .text-bg-success");
                const style = getComputedStyle(badge);
                const [light, dark] = [luminance(style.color), luminance(style.backgroundColor)]
                    .sort((a, b) => b - a);
                const ratio = (light + 0.05) / (dark + 0.05);
                if (ratio < 4.5) {
                    console.error(`the Paid badge reads at ${ratio.toFixed(2)}:1`);
                } else {
                    console.log("test successful");
                }
            })();
            """,
            login=self.env.user.login,
        )

    def test_the_settings_show_the_whole_iban(self):
        self.company.paybylink_partner_bank_id = self.company_iban
        # Cut before (177 px for 257 px of "FR76 3000 6000 0112 3456 7890 189").
        self.browser_js(
            "/odoo/settings#account",
            """
            (async () => {
                for (let attempt = 0; attempt < 100; attempt++) {
                    const setting = document.querySelector("#paybylink_bank_account");
                    if (setting) {
                        const input = setting.querySelector("input");
                        if (input.scrollWidth > input.clientWidth) {
                            console.error(`IBAN cut: ${input.scrollWidth} > ${input.clientWidth}`);
                        } else {
                            console.log("test successful");
                        }
                        return;
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                console.error("no payment link bank account setting");
            })();
            """,
            login=self.env.user.login,
        )
