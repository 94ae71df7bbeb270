# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Data of the payment link: statuses, their transitions and the limits of the link's fields."""

# Status of an invoice's payment link (``account.move.paybylink_state``); False means no link sent.
STATE_SELECTION = [
    ("not_opened", "Not opened"),
    ("in_progress", "Payment in progress"),
    ("interrupted", "Payment interrupted"),
    ("paid", "Paid"),
]

# Why a link stopped working (``paybylink.link.stop_reason``).
LINK_STOP_REASONS = [
    ("draft", "Invoice reset to draft"),
    ("cancel", "Invoice cancelled"),
    ("reversed", "Invoice credited in full"),
    ("replaced", "Replaced by a new link"),
    # Not "Expired": a Stripe session's status says so too, and in French the two differ.
    ("expired", "Link expired"),
]

# Days after which a declared transfer that has not arrived is flagged to the accountant (the
# invoice list's filter "Transfer announced, not received" says the same).
TRANSFER_CHASE_DAYS = 5

# Why a stopped link's page may offer "Send me a new link": not a changed or cancelled invoice.
RENEWABLE_STOP_REASONS = ("replaced", "expired")

# How the invoice of a paid link was paid (``paybylink.link.paid_by``).
LINK_PAID_BY = [
    ("online", "Online (Stripe)"),
    ("bank_transfer", "Bank transfer matched"),
    ("other", "Other payment"),
]

# Who may read a link's token (and so its page's address) in the back office.
LINK_READERS = "account.group_account_invoice,account.group_account_readonly"

# Milliseconds a status change waits at most for a link another transaction holds.
LOCK_TIMEOUT_MS = 5000

# For each target status, the statuses it may be reached from. ``False`` is "no link yet".
# ``paid`` is left only when the payment is undone (``payment_undone``), which returns to what the
# evidence supports.
ALLOWED_TRANSITIONS = {
    # From "in progress": a declared transfer the customer took back.
    "not_opened": (False, "in_progress"),
    "in_progress": ("not_opened", "interrupted"),
    "interrupted": ("not_opened", "in_progress"),
    "paid": ("not_opened", "in_progress", "interrupted"),
}

# Payment states of a paid invoice (``in_payment`` in Enterprise, before the bank confirms).
PAID_PAYMENT_STATES = ("paid", "in_payment")
# Payment states in which a link asks for nothing: paid, reversed by a credit note, or blocked
# (Odoo 18's invoice in dispute, which its follow-ups leave alone too).
CLOSED_PAYMENT_STATES = (*PAID_PAYMENT_STATES, "reversed", "blocked")

# Bytes of randomness in a link token: 32 bytes = 256 bits, far above the 128 bits asked for.
TOKEN_BYTES = 32
# The HMAC scope of the proof that a form's token was made by the server for its invoice.
TOKEN_PROOF_SCOPE = "paybylink_addon.link_token"

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
# Invoice lines the customer's page lists at most (then "and more" and the PDF).
PAGE_INVOICE_LINES_MAX = 8

# Rendered pages each worker keeps for repeat views (a page is 10 to 30 kB), unless the system
# parameter says otherwise (0: none kept).
PAGE_CACHE_SIZE = 500
PAGE_CACHE_SIZE_PARAM = "paybylink.page_cache_size"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    # No other site may frame a page, to make its visitor click "I have made the transfer" or
    # "Pay online" unawares.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}

# === STRIPE === #

STRIPE_DEFAULT_API_BASE = "https://api.stripe.com"

# Payment methods a company may offer in Stripe Checkout, as Stripe names them.
STRIPE_PAYMENT_METHODS = ("card", "sepa_debit", "bancontact", "ideal", "link", "paypal")

# Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours after its creation.
STRIPE_CHECKOUT_MIN_MINUTES = 30
STRIPE_CHECKOUT_MAX_MINUTES = 24 * 60

# An open session is offered again only if it leaves the customer this long to pay.
STRIPE_REUSE_MARGIN_MINUTES = 10

# The HMAC scope and length of an online payment attempt's reference (its idempotency key).
STRIPE_ATTEMPT_SCOPE = "paybylink_addon.checkout_attempt"
STRIPE_ATTEMPT_REF_LENGTH = 32

# Seconds a webhook's signature timestamp may lag behind our clock.
STRIPE_WEBHOOK_TOLERANCE = 300

# Network retries of one Stripe call; the SDK reuses the call's idempotency key on each.
STRIPE_MAX_NETWORK_RETRIES = 2

# Seconds a customer waits at most for Stripe when starting or confirming a payment.
STRIPE_TIMEOUT = 20

# A session still open is polled by the cron this long after it was last polled or heard of,
# in case its webhook was lost.
STRIPE_POLL_DELAY_MINUTES = 15
# A debit being processed takes days (SEPA: up to 14 business days): it is polled less and less
# often as it ages, (age under, minutes between polls), then every STRIPE_POLL_SLOWEST_MINUTES.
STRIPE_PROCESSING_POLL_STEPS = ((60, 15), (24 * 60, 60))
STRIPE_POLL_SLOWEST_MINUTES = 6 * 60
STRIPE_POLL_BATCH_SIZE = 100

# Bank lines matched per batch, each batch committed by the cron.
BANK_MATCH_BATCH_SIZE = 200

# Invoices reminded per call of the reminder cron; Odoo calls again while some are due.
REMINDER_BATCH_SIZE = 100

# Status of a Checkout Session on our side, following Stripe's events.
STRIPE_SESSION_STATES = [
    ("open", "Open"),
    ("processing", "Processing"),
    ("paid", "Paid"),
    ("failed", "Failed"),
    ("expired", "Expired"),
]

# For each status, the statuses it may be reached from: ``paid``, ``failed`` and ``expired`` are
# final, so that a late or replayed event never undoes what happened after it.
STRIPE_SESSION_TRANSITIONS = {
    "processing": ("open",),
    "paid": ("open", "processing"),
    "failed": ("open", "processing"),
    "expired": ("open",),
}

# Sessions that may still take the customer's money.
STRIPE_LIVE_SESSION_STATES = ("open", "processing")

# The Checkout events we act upon; Stripe may send others to the same endpoint.
STRIPE_HANDLED_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    # A try declined on the checkout page: the session stays open, the reason is kept.
    "payment_intent.payment_failed",
)
