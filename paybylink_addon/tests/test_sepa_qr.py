# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import BaseCase, tagged

from ..utils import build_sepa_qr_payload, render_qr_svg

IBAN = "FR7630006000011234567890189"


@tagged("post_install", "-at_install")
class TestSepaQrPayload(BaseCase):
    """The transfer QR code follows EPC069-12, or is not shown at all."""

    def test_payload_lines(self):
        payload = build_sepa_qr_payload("AGRI FR PP", "Atelier Lumière", IBAN, 1234.5, "INV/1")
        self.assertEqual(
            payload.split("\n"),
            [
                "BCD",
                "002",
                "1",
                "SCT",
                "AGRIFRPP",
                "Atelier Lumière",
                IBAN,
                "EUR1234.50",
                "",
                "",
                "INV/1",
            ],
        )

    def test_amount_always_has_two_decimals(self):
        for amount, expected in (
            (10, "EUR10.00"),
            (0.1, "EUR0.10"),
            (999999999.99, "EUR999999999.99"),
        ):
            with self.subTest(amount=amount):
                payload = build_sepa_qr_payload("", "A", IBAN, amount, "x")
                self.assertEqual(payload.split("\n")[7], expected)

    def test_creditor_reference_goes_in_the_structured_field(self):
        lines = build_sepa_qr_payload("", "A", IBAN, 5, "RF18 5390 0754 7034").split("\n")
        self.assertEqual(lines[9], "RF18539007547034")
        self.assertEqual(len(lines), 10, "no unstructured text, no trailing line")
        # Wrong check digits: not a creditor reference, so sent as text.
        lines = build_sepa_qr_payload("", "A", IBAN, 5, "RF19 5390 0754 7034").split("\n")
        self.assertEqual(lines[9:], ["", "RF19 5390 0754 7034"])

    def test_out_of_bounds_gives_no_code_rather_than_a_cut_one(self):
        self.assertIsNotNone(build_sepa_qr_payload("", "n" * 70, IBAN, 5, "r" * 140))
        for name, amount, reference in (
            ("n" * 71, 5, "ref"),
            ("A", 5, "r" * 141),
            ("A", 0, "ref"),
            ("A", 0.004, "ref"),
            ("A", 1000000000, "ref"),
            ("", 5, "ref"),
        ):
            with self.subTest(name=len(name), amount=amount, reference=len(reference)):
                self.assertIsNone(build_sepa_qr_payload("", name, IBAN, amount, reference))

    def test_payload_fits_331_bytes(self):
        payload = build_sepa_qr_payload("AGRIFRPPXXX", "é" * 70, IBAN, 999999999.99, "é" * 140)
        self.assertIsNone(payload, "over 331 bytes once encoded in UTF-8")
        payload = build_sepa_qr_payload("AGRIFRPPXXX", "n" * 70, IBAN, 999999999.99, "r" * 140)
        self.assertLessEqual(len(payload.encode()), 331)

    def test_svg_is_inline_and_cached(self):
        svg = render_qr_svg("BCD\n002")
        self.assertTrue(svg.startswith("<svg"))
        self.assertIs(render_qr_svg("BCD\n002"), svg)
