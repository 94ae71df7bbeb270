# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Data of the payment link: statuses, their transitions and the limits of the link's fields."""

# Status of an invoice's payment link (``account.move.paybylink_state``); False means no link sent.
STATE_SELECTION = [
    ("not_opened", "Not opened"),
    ("in_progress", "Payment in progress"),
    ("interrupted", "Payment interrupted"),
    ("paid", "Paid"),
]

# For each target status, the statuses it may be reached from. ``False`` is "no link yet".
# ``paid`` is left only when the payment is undone, which returns to what the evidence supports.
ALLOWED_TRANSITIONS = {
    "not_opened": (False,),
    "in_progress": ("not_opened", "interrupted"),
    "interrupted": ("not_opened", "in_progress"),
    "paid": ("not_opened", "in_progress", "interrupted"),
}

# Bytes of randomness in a link token: 32 bytes = 256 bits, far above the 128 bits asked for.
TOKEN_BYTES = 32

# SEPA credit transfer limits (EPC069-12): beneficiary name and unstructured remittance text.
BENEFICIARY_NAME_MAX_LENGTH = 70
REFERENCE_MAX_LENGTH = 140

# EPC069-12 SEPA QR code: amount bounds in euros and the payload's maximum size in bytes.
SEPA_QR_MIN_AMOUNT = 0.01
SEPA_QR_MAX_AMOUNT = 999999999.99
SEPA_QR_MAX_BYTES = 331

# Public route of the customer's page; the token follows it.
PAGE_ROUTE = "/paybylink"
HELP_ROUTE = "/paybylink/help"

# Headers of every customer page: never cached, never indexed, the token never leaks as referrer.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
