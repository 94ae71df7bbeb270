# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import os
import time

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser
from odoo.tools import config

from .common import PayByLinkPageCommon, PayByLinkStripeCommon

# Where the screenshots go: bin/test points this at docs/screenshots for the README.
SCREENSHOTS_DIR = os.environ.get("PAYBYLINK_SCREENSHOTS_DIR") or config["screenshots"]


class PageBrowserMixin:
    """Drive headless Chromium through Odoo's test browser, and take screenshots."""

    def setUp(self):
        super().setUp()
        self.env.cr.flush()
        self.browser = ChromeBrowser(self, headless=True)
        # Cleanups run last first: stop the browser, then let its last requests end.
        self.addCleanup(self._wait_remaining_requests)
        self.addCleanup(self.browser.stop)

    def evaluate(self, expression):
        result = self.browser._websocket_request(
            "Runtime.evaluate", params={"expression": expression, "returnByValue": True}
        )
        return result["result"].get("value")

    def open_page(self, width, height):
        self.browser._websocket_request(
            "Emulation.setDeviceMetricsOverride",
            params={
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            },
        )
        self.browser.navigate_to(self.invoice.paybylink_url, wait_stop=True)
        self.wait_for("document.readyState === 'complete'")

    def wait_for(self, expression, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            self.assertLess(time.monotonic(), deadline, f"never true: {expression}")
            time.sleep(0.1)

    def save_screenshot(self, name):
        data = self.browser._websocket_request(
            "Page.captureScreenshot", params={"format": "png", "captureBeyondViewport": True}
        )["data"]
        os.makedirs(SCREENSHOTS_DIR, exist_ok=True)
        with open(os.path.join(SCREENSHOTS_DIR, f"{name}.png"), "wb") as png:
            png.write(base64.b64decode(data))


@tagged("post_install", "-at_install")
class TestPaybylinkPageInBrowser(PageBrowserMixin, PayByLinkPageCommon, HttpCase):
    """The customer's page in headless Chromium, as a phone and a desktop show it."""

    def test_phone_shows_everything_without_sideways_scrolling(self):
        self.open_page(360, 780)
        self.save_screenshot("pay-page-mobile")
        self.assertLessEqual(self.evaluate("document.documentElement.scrollWidth"), 360)
        # The QR code is for another device: small on a phone.
        self.assertLessEqual(
            self.evaluate("document.querySelector('figure.qr svg').getBoundingClientRect().width"),
            150,
        )
        # The IBAN may wrap between its groups of four, never inside one.
        self.assertTrue(
            self.evaluate(
                "[...document.querySelectorAll('dd .nowrap')].every("
                "span => span.getClientRects().length === 1)"
            )
        )
        # Copy buttons, shown by the page's script, copy the IBAN without spaces.
        self.assertEqual(
            self.evaluate(
                "[...document.querySelectorAll('button[data-copy]')]"
                ".filter(button => !button.hidden).map(button => button.dataset.copy)"
            ),
            ["FR7630006000011234567890189", self.invoice.paybylink_reference],
        )

    def test_wide_screen_shows_what_is_due_beside_how_to_pay(self):
        self.open_page(1440, 900)
        self.save_screenshot("pay-page-wide")
        due, transfer = self.evaluate(
            "['#due-title', '#transfer-title'].map(selector => "
            "document.querySelector(selector).closest('section').getBoundingClientRect())"
            ".map(box => [box.left, box.right, box.top])"
        )
        self.assertLess(due[1], transfer[0], "two columns, side by side")
        self.assertAlmostEqual(due[2], transfer[2], delta=1)
        self.assertGreater(transfer[1] - due[0], 1000, "the page uses the width of the screen")

    def test_customer_declares_the_transfer_and_takes_it_back(self):
        self.open_page(1280, 900)
        self.save_screenshot("pay-page-desktop")
        submit = """document.querySelector('form[action$="/transfer"] button[type=submit]')"""
        self.evaluate(f"{submit}.click()")
        time.sleep(0.5)
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened", "the box is not ticked")
        self.evaluate("""document.querySelector('input[name="confirmed"]').click()""")
        self.evaluate(f"{submit}.click()")
        self.wait_for("document.body.innerText.includes('Merci de nous avoir indiqué')")
        self.assertFalse(self.evaluate("""!!document.querySelector('form[action$="/transfer"]')"""))
        self.save_screenshot("pay-page-transfer-declared")
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "in_progress")
        self.evaluate("""document.querySelector('form[action$="/transfer/undo"] button').click()""")
        self.wait_for("""!!document.querySelector('form[action$="/transfer"]')""")
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.paybylink_state, "not_opened")


@tagged("post_install", "-at_install")
class TestPaybylinkPayOnlineInBrowser(PageBrowserMixin, PayByLinkStripeCommon):
    """A customer pays online in Chromium: the page, Stripe's checkout page (the stand-in's),
    and back to the page, which says the invoice is paid."""

    def test_customer_pays_online_by_card(self):
        self.open_page(1280, 900)
        self.evaluate("""document.querySelector('form[action$="/checkout"] button').click()""")
        self.wait_for(f"location.href.startsWith('{self.stripe.api_base}/checkout/')")
        self.wait_for("document.readyState === 'complete'")
        self.save_screenshot("stripe-standin-checkout")
        self.evaluate("""document.querySelector('form[action$="/pay"] button').click()""")
        self.wait_for("document.body.innerText.includes('Cette facture est payée')", timeout=20)
        self.save_screenshot("pay-page-paid-online")
        self.invoice.invalidate_recordset()
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(self.invoice.paybylink_state, "paid")
        self.assertEqual(len(self.invoice.paybylink_stripe_session_ids.payment_id), 1)
