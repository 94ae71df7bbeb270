# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A local stand-in for Stripe's Checkout Sessions API, its hosted page and its webhooks.

The tests point the addon's Stripe client at it (``StripeClient(key, base_addresses={"api":
standin.api_base})``) and drive the payment from Python; the demo command runs it as a script so
that a user can pay an invoice in a browser, its webhooks being delivered to Odoo::

    python3 stripe_standin.py --port 12111 --secret-key sk_test_demo \\
        --webhook-url http://127.0.0.1:8069/paybylink/stripe/webhook --webhook-secret whsec_demo

It speaks Stripe's wire format as the official ``stripe`` SDK sends and reads it: form-encoded
parameters with bracketed keys (``line_items[0][price_data][currency]=eur``), ``Authorization:
Bearer`` keys, ``Idempotency-Key`` headers, JSON answers and errors shaped as
``{"error": {"type", "code", "message", "param"}}`` with Stripe's HTTP statuses, so that the SDK
raises the exception it would raise against Stripe. Only what the addon uses exists:

- ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/<id>`` (``expand[]=payment_intent``
  included), ``POST /v1/checkout/sessions/<id>/expire`` and ``GET /v1/payment_intents/<id>``;
- ``GET /checkout/<id>``: a hosted page, without JavaScript, to pay by card, pay by SEPA debit
  (processing, then succeeding or failing), or have the card declined (the session stays open;
  its payment intent keeps ``last_payment_error``, posted as ``payment_intent.payment_failed``);
- events signed as Stripe signs them (``Stripe-Signature: t=...,v1=...``) and posted to the
  account's webhook URL.

Parameters Stripe knows but the stand-in does not model are refused with a 400 that says so,
rather than silently ignored. It listens on loopback only, unless told otherwise.
"""

import argparse
import base64
import contextlib
import copy
import hashlib
import hmac
import html
import http.server
import json
import logging
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Beside it in tools/, which is on the path of the tests (pyproject.toml) and of a script run.
from local_server import LocalServer

_logger = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"

#: ``allowed_payment_method_types`` accepted by Stripe (stripe-python 16.1.0's list).
PAYMENT_METHOD_TYPES = frozenset(
    (
        "acss_debit",
        "affirm",
        "afterpay_clearpay",
        "alipay",
        "alma",
        "amazon_pay",
        "au_becs_debit",
        "bacs_debit",
        "bancontact",
        "billie",
        "bizum",
        "blik",
        "boleto",
        "card",
        "cashapp",
        "crypto",
        "customer_balance",
        "eps",
        "fpx",
        "giropay",
        "grabpay",
        "ideal",
        "kakao_pay",
        "klarna",
        "konbini",
        "kr_card",
        "link",
        "mb_way",
        "mobilepay",
        "multibanco",
        "naver_pay",
        "nz_bank_account",
        "oxxo",
        "pay_by_bank",
        "payco",
        "paynow",
        "paypal",
        "paypay",
        "payto",
        "pix",
        "promptpay",
        "revolut_pay",
        "samsung_pay",
        "satispay",
        "scalapay",
        "sepa_debit",
        "sequra",
        "sofort",
        "sunbit",
        "swish",
        "twint",
        "upi",
        "us_bank_account",
        "wechat_pay",
        "zip",
    )
)
#: Payment methods that only take euros (so only offered in sessions in euros).
EURO_ONLY_METHODS = frozenset(("bancontact", "eps", "giropay", "ideal", "sepa_debit", "sofort"))
#: Currencies whose amounts Stripe counts in whole units, and those with three decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    (
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    )
)
THREE_DECIMAL_CURRENCIES = frozenset(
    (
        "bhd",
        "jod",
        "kwd",
        "omr",
        "tnd",
    )
)

# What POST /v1/checkout/sessions takes: what is modelled, what is accepted without effect, and
# what Stripe knows but the stand-in refuses as not implemented (anything else is unknown).
_CREATE_MODELLED = frozenset(
    (
        "allowed_payment_method_types",
        "cancel_url",
        "client_reference_id",
        "customer_email",
        "expires_at",
        "line_items",
        "metadata",
        "mode",
        "payment_intent_data",
        "success_url",
    )
)
_CREATE_ACCEPTED = frozenset(
    (
        "billing_address_collection",
        "custom_text",
        "customer_creation",
        "expand",
        "invoice_creation",
        "locale",
        "payment_method_options",
        "phone_number_collection",
        "submit_type",
    )
)
_CREATE_NOT_IMPLEMENTED = frozenset(
    (
        "adaptive_pricing",
        "after_expiration",
        "allow_promotion_codes",
        "automatic_tax",
        "branding_settings",
        "consent_collection",
        "currency",
        "custom_fields",
        "customer",
        "customer_account",
        "customer_update",
        "discounts",
        "excluded_payment_method_types",
        "integration_identifier",
        "managed_payments",
        "name_collection",
        "optional_items",
        "origin_context",
        "payment_method_collection",
        "payment_method_configuration",
        "payment_method_data",
        "permissions",
        "redirect_on_completion",
        "return_url",
        "saved_payment_method_options",
        "setup_intent_data",
        "shipping_address_collection",
        "shipping_options",
        "subscription_data",
        "tax_id_collection",
        "ui_mode",
        "wallet_options",
    )
)
_PAYMENT_INTENT_DATA = frozenset(
    (
        "application_fee_amount",
        "capture_method",
        "description",
        "metadata",
        "on_behalf_of",
        "receipt_email",
        "setup_future_usage",
        "shipping",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_data",
        "transfer_group",
    )
)

_ID_ALPHABET = string.ascii_letters + string.digits
_MIN_EXPIRY = 30 * 60
_MAX_EXPIRY = 24 * 60 * 60
_WEBHOOK_TIMEOUT = 30


def sign(payload, secret, timestamp=None, extra_secrets=()):
    """Return the ``Stripe-Signature`` header Stripe would send with ``payload``.

    :param str payload: the exact body of the event
    :param str secret: the webhook endpoint's signing secret (``whsec_...``)
    :param timestamp: the signing time (Unix seconds), now by default
    :param extra_secrets: more secrets to sign with, one ``v1`` each, as Stripe does while a
        rolled secret is still valid
    :return: ``t=<timestamp>,v1=<hex>[,v1=<hex>...]``
    """
    if isinstance(payload, bytes | bytearray):
        payload = payload.decode("utf-8")
    timestamp = int(time.time() if timestamp is None else timestamp)
    signed = f"{timestamp}.{payload}".encode()
    signatures = [
        hmac.new(key.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        for key in (secret, *extra_secrets)
    ]
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


def format_amount(amount, currency):
    """Format ``amount``, in minor units of ``currency``, as Checkout shows it: ``1234.50 EUR``."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        decimals = 0
    elif currency in THREE_DECIMAL_CURRENCIES:
        decimals = 3
    else:
        decimals = 2
    if decimals:
        whole, fraction = divmod(amount, 10**decimals)
        return f"{whole}.{fraction:0{decimals}d} {currency.upper()}"
    return f"{amount} {currency.upper()}"


def _new_id(prefix, length=24):
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _dumps(value):
    return json.dumps(value, indent=2).encode("utf-8")


def _header(headers, name):
    """``name``'s value in ``headers``, whatever case the client wrote it in."""
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _join(prefix, key):
    return f"{prefix}[{key}]" if prefix else str(key)


# === ERRORS AND PARAMETERS === #


class _ApiError(Exception):
    """An error answer of the API, as Stripe shapes it."""

    def __init__(
        self, status, message, *, error_type="invalid_request_error", code=None, param=None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param

    def payload(self):
        error = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["type"] = self.error_type
        return {"error": error}


def _invalid(message, param=None, code=None):
    return _ApiError(400, message, code=code, param=param)


def _parse_form(text):
    """Parse a form-encoded body or query into nested dicts and lists, as Stripe reads it.

    ``a[b][0][c]=v`` gives ``{"a": {"b": [{"c": "v"}]}}``; ``a[]=v`` appends. Keys that are all
    indexes become lists, except under ``metadata`` whose keys are free. Values stay strings.
    """
    tree = {}
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except ValueError as error:
        raise _invalid(f"Invalid request body: {error}") from None
    for key, value in pairs:
        name, bracket, rest = key.partition("[")
        if not name or (bracket and not rest.endswith("]")):
            raise _invalid(f"Invalid parameter name: {key}", param=key)
        path = [name, *rest[:-1].split("][")] if bracket else [name]
        node = tree
        for depth, part in enumerate(path):
            if part == "":
                part = str(len(node))
            if depth == len(path) - 1:
                if isinstance(node.get(part), dict):
                    raise _invalid(f"Invalid parameter: {key} is both a value and a hash", key)
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise _invalid(f"Invalid parameter: {key} is both a value and a hash", key)
    return {key: _listify(value, key) for key, value in tree.items()}


def _listify(node, param):
    if not isinstance(node, dict):
        return node
    node = {key: _listify(value, _join(param, key)) for key, value in node.items()}
    if param.endswith("metadata]") or param == "metadata" or not node:
        return node
    if all(key.isascii() and key.isdigit() for key in node):
        indexes = sorted(int(key) for key in node)
        if indexes != list(range(len(indexes))):
            raise _invalid(f"Invalid array: the indexes of {param} must be 0, 1, 2...", param)
        return [node[str(index)] for index in indexes]
    return node


def _check_keys(mapping, prefix, allowed, not_implemented=()):
    for key in mapping:
        if key in allowed:
            continue
        param = _join(prefix, key)
        if key in not_implemented:
            raise _invalid(f"stripe_standin does not implement the parameter {param}.", param)
        raise _invalid(f"Received unknown parameter: {param}", param, "parameter_unknown")


def _required(mapping, key, prefix=""):
    if key not in mapping:
        param = _join(prefix, key)
        raise _invalid(f"Missing required param: {param}.", param, "parameter_missing")
    return mapping[key]


def _string(value, param):
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {value!r}", param)
    if value == "":
        raise _invalid(
            f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
            "from your request or supply a non-empty value.",
            param,
            "parameter_invalid_empty",
        )
    return value


def _integer(value, param, minimum=None):
    if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]+", value):
        raise _invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise _invalid(
            f"This value must be greater than or equal to {minimum}.",
            param,
            "parameter_invalid_integer",
        )
    return number


def _object(value, param):
    if not isinstance(value, dict):
        raise _invalid(f"Invalid object: {param} must be a hash", param)
    return value


def _array(value, param):
    if not isinstance(value, list):
        raise _invalid(f"Invalid array: {param} must be a list", param)
    return value


def _url(value, param):
    value = _string(value, param)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("Not a valid URL", param, "url_invalid")
    return value


def _email(value, param):
    value = _string(value, param)
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain.strip(".")) or any(c.isspace() for c in value):
        raise _invalid(f"Invalid email address: {value}", param, "email_invalid")
    return value


def _metadata(value, param):
    """Stripe's metadata: up to 50 string keys of 40 characters, values of 500; blank unsets."""
    if value == "":
        return {}
    metadata = {}
    for key, item in _object(value, param).items():
        if not isinstance(item, str):
            raise _invalid(f"Invalid string: {item!r}", _join(param, key))
        if len(key) > 40:
            raise _invalid(
                f"Metadata keys can have up to 40 characters, but you passed in a key that is "
                f"{len(key)} characters long.",
                _join(param, key),
            )
        if len(item) > 500:
            raise _invalid(
                f"Metadata values can have up to 500 characters, but you passed in a value that "
                f"is {len(item)} characters long.",
                _join(param, key),
            )
        if item:
            metadata[key] = item
    if len(metadata) > 50:
        raise _invalid("Metadata can have up to 50 keys.", param)
    return metadata


def _expansions(params, expandable):
    expand = _array(params.get("expand", []), "expand")
    for index, path in enumerate(expand):
        if path not in expandable:
            raise _invalid(f"This property cannot be expanded ({path}).", f"expand[{index}]")
    return set(expand)


# === HTTP === #


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "stripe-standin"
    sys_version = ""

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        standin = self.server.standin
        url = urllib.parse.urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length).decode("utf-8", "replace") if length > 0 else ""
        api = url.path == "/v1" or url.path.startswith("/v1/")
        try:
            if api:
                answer = standin._api(method, url.path, url.query, dict(self.headers), body)
            else:
                answer = standin._page(method, url.path, url.query)
        except Exception:
            _logger.exception("stripe_standin failed on %s %s", method, self.path)
            error = _ApiError(500, "stripe_standin crashed.", error_type="api_error")
            answer = (500, {"Content-Type": "application/json"}, _dumps(error.payload()))
        status, headers, content = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(content)

    def log_message(self, fmt, *args):
        _logger.debug("%s %s", self.address_string(), fmt % args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A browser or client that hangs up mid-answer is not the stand-in's failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Stripe does not follow a webhook endpoint's redirections: they count as failures.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# Webhooks go straight to their URL: no proxy from the environment, no redirection.
_WEBHOOK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


# === THE STAND-IN === #


class StripeStandin(LocalServer):
    """Stripe's Checkout Sessions API, hosted page and webhooks, on a local port.

    :param str host: the address to listen on
    :param int port: the port to listen on; 0 takes a free one (read it from ``api_base``)
    """

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        #: Every API call received, oldest first: dicts of ``method``, ``path``, ``headers``
        #: (as sent), ``params`` (parsed, nested) and ``body`` (the raw form or query).
        self.requests = []
        #: Every webhook delivery attempted: dicts of ``id``, ``type``, ``session_id``, ``url``,
        #: ``payload``, ``status`` (None if unreachable) and ``body``.
        self.events = []
        self._lock = threading.RLock()
        self._accounts = {}
        self._sessions = {}
        self._idempotency = {}
        self._outage = None
        self._latency = 0.0
        self._call_hook = None
        self._server = _Server((host, port), _Handler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self._thread = None

    @property
    def api_base(self):
        """The base address to give the SDK, such as ``http://127.0.0.1:12111``."""
        return f"http://{self.host}:{self.port}"

    # --- accounts and test controls ---

    def add_account(self, secret_key, webhook_url=None, webhook_secret=None):
        """Let ``secret_key`` in, as an account of its own; again, change where its events go.

        :param str secret_key: the API key, which names the account
        :param str webhook_url: where ``send_event`` and the hosted page post its events
        :param str webhook_secret: the secret its events are signed with
        """
        with self._lock:
            self._accounts[secret_key] = {
                "webhook_url": webhook_url,
                "webhook_secret": webhook_secret,
            }

    def set_outage(self, status):
        """Answer every API call with HTTP ``status`` (such as 503) and an ``api_error``, until
        called again with None. The hosted page stays up."""
        with self._lock:
            self._outage = status

    def set_latency(self, seconds):
        """Take ``seconds`` before answering each API call (a slow Stripe), until set to 0."""
        with self._lock:
            self._latency = seconds

    def set_call_hook(self, function):
        """Call ``function(method, path)`` as each API call arrives, before answering it (what
        the caller holds meanwhile can then be looked at), until set to None."""
        with self._lock:
            self._call_hook = function

    def clear_requests(self):
        """Forget the API calls received so far."""
        with self._lock:
            self.requests.clear()

    def session(self, session_id):
        """Return a copy of the Checkout Session as the API would (``KeyError`` if unknown)."""
        with self._lock:
            return copy.deepcopy(self._record(session_id)["session"])

    def session_params(self, session_id):
        """Return a copy of the parameters the session was created with, all kept."""
        with self._lock:
            return copy.deepcopy(self._record(session_id)["params"])

    def complete(self, session_id, paid=True):
        """The customer pays: the open session becomes ``complete``, with a payment intent.

        :param bool paid: whether the money is there (card), or is still being processed (a
            delayed method such as SEPA debit: ``payment_status`` stays ``unpaid``)
        """
        with self._lock:
            record = self._record(session_id)
            session = record["session"]
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                payment_intent=_new_id("pi_test_"),
                customer_details={"email": session["customer_email"], "name": None},
                url=None,
            )
            record["completed_at"] = int(time.time())

    def async_succeed(self, session_id):
        """A delayed payment of a completed session succeeds: ``payment_status`` is ``paid``."""
        with self._lock:
            record = self._processing_record(session_id)
            record["session"]["payment_status"] = "paid"
            record["async_result"] = "succeeded"

    def async_fail(self, session_id):
        """A delayed payment of a completed session fails: ``payment_status`` stays ``unpaid``
        and its payment intent goes back to ``requires_payment_method``."""
        with self._lock:
            record = self._processing_record(session_id)
            record["async_result"] = "failed"

    def decline(
        self, session_id, message="Your card was declined.", decline_code="generic_decline"
    ):
        """The customer's card is declined on the checkout page: the session stays open (they
        may try again) and its payment intent, made at this first try, keeps the error, as
        Stripe's ``payment_intent.payment_failed`` event tells it."""
        with self._lock:
            record = self._record(session_id)
            session = record["session"]
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            session["payment_intent"] = session["payment_intent"] or _new_id("pi_test_")
            record["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline_code,
                "message": message,
                "payment_method": {"object": "payment_method", "type": "card"},
            }

    def async_result(self, session_id):
        """``succeeded``, ``failed`` or None: what became of the session's delayed payment."""
        with self._lock:
            return self._record(session_id)["async_result"]

    def expire(self, session_id):
        """Expire an open session, as Stripe does at ``expires_at`` or when asked to."""
        with self._lock:
            session = self._record(session_id)["session"]
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            session.update(status="expired", url=None)

    # --- events ---

    def make_event(self, session_id, event_type, event_id=None, created=None):
        """Return, as the JSON text Stripe posts, an event about the session as it is now.

        :param str event_type: such as ``checkout.session.completed``
        :param str event_id: the event's id, new by default
        :param int created: the event's time (Unix seconds), now by default
        """
        with self._lock:
            record = self._record(session_id)
            # A payment intent's event carries the intent; the others, the session.
            snapshot = copy.deepcopy(
                self._payment_intent(record)
                if event_type.startswith("payment_intent.")
                else record["session"]
            )
        event = {
            "id": event_id or _new_id("evt_test_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time() if created is None else created),
            "data": {"object": snapshot},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return json.dumps(event, indent=2)

    def send_event(self, session_id, event_type):
        """Post a signed event about the session to its account's webhook URL, as Stripe does.

        :return: the endpoint's ``(status, body)``, whatever the status
        :raise ValueError: if the account has no webhook URL or secret
        :raise urllib.error.URLError: if the endpoint cannot be reached
        """
        with self._lock:
            account = self._accounts[self._record(session_id)["account"]]
            url, secret = account["webhook_url"], account["webhook_secret"]
        if not (url and secret):
            raise ValueError(f"the account of {session_id} has no webhook URL and secret")
        payload = self.make_event(session_id, event_type)
        request = urllib.request.Request(
            url,
            data=payload.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(payload, secret),
            },
        )
        delivery = {
            "id": json.loads(payload)["id"],
            "type": event_type,
            "session_id": session_id,
            "url": url,
            "payload": payload,
            "status": None,
            "body": None,
        }
        with self._lock:
            self.events.append(delivery)
        try:
            with _WEBHOOK_OPENER.open(request, timeout=_WEBHOOK_TIMEOUT) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        delivery.update(status=status, body=body.decode("utf-8", "replace"))
        return status, delivery["body"]

    def _deliver(self, session_id, event_type):
        """``send_event`` if the account has a webhook URL; failures are logged, not raised."""
        with self._lock:
            account = self._accounts[self._record(session_id)["account"]]
        if not account["webhook_url"]:
            return
        try:
            status, body = self.send_event(session_id, event_type)
        except (OSError, ValueError) as error:
            _logger.warning("%s for %s not delivered: %s", event_type, session_id, error)
            return
        log = _logger.info if 200 <= status < 300 else _logger.warning
        log("%s for %s -> webhook answered %s %s", event_type, session_id, status, body[:200])

    # --- sessions ---

    def _record(self, session_id):
        record = self._sessions[session_id]
        session = record["session"]
        if session["status"] == "open" and time.time() >= session["expires_at"]:
            session.update(status="expired", url=None)
        return record

    def _processing_record(self, session_id):
        record = self._record(session_id)
        session = record["session"]
        if (
            session["status"] != "complete"
            or session["payment_status"] != "unpaid"
            or record["async_result"]
        ):
            raise ValueError(f"{session_id} has no delayed payment processing")
        return record

    def _account_record(self, account, session_id):
        record = self._sessions.get(session_id)
        if not record or record["account"] != account:
            raise _ApiError(
                404,
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
                param="session",
            )
        return self._record(session_id)

    def _payment_intent(self, record):
        session = record["session"]
        if session["payment_status"] == "paid":
            status = "succeeded"
        elif record["async_result"] == "failed" or session["status"] == "open":
            status = "requires_payment_method"
        else:
            status = "processing"
        intent_data = record["params"].get("payment_intent_data", {})
        return {
            "id": session["payment_intent"],
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if status == "succeeded" else 0,
            "created": record["completed_at"] or record["session"]["created"],
            "currency": session["currency"],
            "description": intent_data.get("description"),
            "livemode": False,
            "metadata": _metadata(intent_data.get("metadata", {}), "metadata"),
            "payment_method_types": session["payment_method_types"],
            "status": status,
            "last_payment_error": record.get("last_payment_error"),
        }

    def _render(self, record, expand):
        session = copy.deepcopy(record["session"])
        if "payment_intent" in expand and session["payment_intent"]:
            session["payment_intent"] = self._payment_intent(record)
        return session

    def _create_session(self, account, params):
        _check_keys(params, "", _CREATE_MODELLED | _CREATE_ACCEPTED, _CREATE_NOT_IMPLEMENTED)
        expand = _expansions(params, {"payment_intent"})
        mode = _string(_required(params, "mode"), "mode")
        if mode in ("setup", "subscription"):
            raise _invalid(f"stripe_standin only implements mode=payment, not {mode}.", "mode")
        if mode != "payment":
            raise _invalid("Invalid mode: must be one of payment, setup, or subscription", "mode")
        success_url = _url(_required(params, "success_url"), "success_url")
        cancel_url = _url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None
        items, currencies = self._line_items(params)
        if len(currencies) > 1:
            raise _invalid("All line items must use the same currency.", "line_items")
        currency = currencies.pop()
        methods = None
        offered = ["card"]
        if "allowed_payment_method_types" in params:
            methods = _array(params["allowed_payment_method_types"], "allowed_payment_method_types")
            for index, method in enumerate(methods):
                param = f"allowed_payment_method_types[{index}]"
                if _string(method, param) not in PAYMENT_METHOD_TYPES:
                    known = ", ".join(sorted(PAYMENT_METHOD_TYPES))
                    raise _invalid(f"Invalid {param}: must be one of {known}", param)
            # A filter on what suits the session, not a demand: euro-only methods drop out of
            # sessions in other currencies. Nothing left is an error.
            offered = [
                method
                for method in dict.fromkeys(methods)
                if currency == "eur" or method not in EURO_ONLY_METHODS
            ]
            if not offered:
                raise _invalid(
                    f"None of the allowed_payment_method_types can take {currency}.",
                    "allowed_payment_method_types",
                )
        client_reference_id = None
        if "client_reference_id" in params:
            client_reference_id = _string(params["client_reference_id"], "client_reference_id")
            if len(client_reference_id) > 200:
                raise _invalid(
                    "Invalid client_reference_id: must be at most 200 characters",
                    "client_reference_id",
                )
        customer_email = None
        if "customer_email" in params:
            customer_email = _email(params["customer_email"], "customer_email")
        metadata = _metadata(params.get("metadata", {}), "metadata")
        intent_data = _object(params.get("payment_intent_data", {}), "payment_intent_data")
        _check_keys(intent_data, "payment_intent_data", _PAYMENT_INTENT_DATA)
        _metadata(intent_data.get("metadata", {}), "payment_intent_data[metadata]")
        created = int(time.time())
        expires_at = created + _MAX_EXPIRY
        if "expires_at" in params:
            expires_at = _integer(params["expires_at"], "expires_at")
            if expires_at < created + _MIN_EXPIRY:
                raise _invalid(
                    "The `expires_at` timestamp must be at least 30 minutes from Checkout "
                    "Session creation.",
                    "expires_at",
                )
            if expires_at > created + _MAX_EXPIRY:
                raise _invalid(
                    "The `expires_at` timestamp must be less than 24 hours from Checkout "
                    "Session creation.",
                    "expires_at",
                )
        session_id = _new_id("cs_test_", 58)
        amount = sum(item["amount"] for item in items)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "allowed_payment_method_types": methods,
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "created": created,
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "customer_email": customer_email,
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": metadata,
            "mode": mode,
            "payment_intent": None,
            "payment_method_types": offered,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{self.api_base}/checkout/{session_id}",
        }
        record = {
            "account": account,
            "session": session,
            "params": copy.deepcopy(params),
            "items": items,
            "completed_at": None,
            "async_result": None,
        }
        self._sessions[session_id] = record
        return self._render(record, expand)

    def _line_items(self, params):
        line_items = _array(_required(params, "line_items"), "line_items")
        if not line_items:
            raise _invalid("Missing required param: line_items.", "line_items", "parameter_missing")
        if len(line_items) > 100:
            raise _invalid("A Checkout Session can have up to 100 line items.", "line_items")
        items, currencies = [], set()
        for index, line in enumerate(line_items):
            base = f"line_items[{index}]"
            _check_keys(
                _object(line, base),
                base,
                {"metadata", "price_data", "quantity"},
                {"adjustable_quantity", "price", "tax_rates"},
            )
            _metadata(line.get("metadata", {}), f"{base}[metadata]")
            prefix = f"{base}[price_data]"
            price_data = _object(_required(line, "price_data", base), prefix)
            _check_keys(
                price_data,
                prefix,
                {"currency", "product_data", "tax_behavior", "unit_amount"},
                {"product", "recurring", "unit_amount_decimal"},
            )
            currency = _string(_required(price_data, "currency", prefix), f"{prefix}[currency]")
            if not re.fullmatch(r"[A-Za-z]{3}", currency):
                raise _invalid(f"Invalid currency: {currency}.", f"{prefix}[currency]")
            currencies.add(currency.lower())
            unit_amount = _integer(
                _required(price_data, "unit_amount", prefix), f"{prefix}[unit_amount]", minimum=1
            )
            product_prefix = f"{prefix}[product_data]"
            product = _object(_required(price_data, "product_data", prefix), product_prefix)
            _check_keys(
                product,
                product_prefix,
                {"description", "images", "metadata", "name", "tax_code", "unit_label"},
                {"tax_details"},
            )
            name = _string(_required(product, "name", product_prefix), f"{product_prefix}[name]")
            quantity = _integer(_required(line, "quantity", base), f"{base}[quantity]", minimum=1)
            items.append(
                {
                    "name": name,
                    "quantity": quantity,
                    "unit_amount": unit_amount,
                    "amount": unit_amount * quantity,
                }
            )
        return items, currencies

    # --- the API ---

    def _authenticate(self, headers):
        authorization = _header(headers, "Authorization") or ""
        scheme, _space, credentials = authorization.partition(" ")
        key = None
        if scheme.lower() == "bearer":
            key = credentials.strip()
        elif scheme.lower() == "basic":  # curl -u sk_test_...:
            with contextlib.suppress(ValueError):
                key = base64.b64decode(credentials).decode("utf-8").partition(":")[0]
        if not key:
            raise _ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        with self._lock:
            known = key in self._accounts
        if not known:
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
            raise _ApiError(401, f"Invalid API Key provided: {masked}")
        return key

    def _route(self, account, method, path, params):
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if len(parts) == 3 and method == "POST":
                return self._create_session(account, params)
            if len(parts) == 4 and method == "GET":
                _check_keys(params, "", {"expand"})
                expand = _expansions(params, {"payment_intent"})
                return self._render(self._account_record(account, parts[3]), expand)
            if len(parts) == 5 and parts[4] == "expire" and method == "POST":
                _check_keys(params, "", {"expand"})
                expand = _expansions(params, {"payment_intent"})
                record = self._account_record(account, parts[3])
                if record["session"]["status"] != "open":
                    raise _invalid("Only Checkout Sessions with a status of `open` can be expired.")
                self.expire(parts[3])
                return self._render(record, expand)
        if parts[:2] == ["v1", "payment_intents"] and len(parts) == 3 and method == "GET":
            _check_keys(params, "", {"expand"})
            _expansions(params, ())
            for record in self._sessions.values():
                if record["account"] == account and record["session"]["payment_intent"] == parts[2]:
                    return self._payment_intent(record)
            raise _ApiError(
                404,
                f"No such payment_intent: '{parts[2]}'",
                code="resource_missing",
                param="intent",
            )
        raise _ApiError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _api(self, method, path, query, headers, body):
        """Answer one API call: ``(status, headers, content)``."""
        raw = body if method == "POST" else query
        try:
            params, parse_error = _parse_form(raw), None
        except _ApiError as error:
            params, parse_error = {}, error
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": dict(headers),
                    "params": copy.deepcopy(params),
                    "body": raw,
                }
            )
            outage, latency, call_hook = self._outage, self._latency, self._call_hook
        if call_hook:
            call_hook(method, path)
        if latency:
            time.sleep(latency)
        request_id = _new_id("req_", 14)
        answer_headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": _header(headers, "Stripe-Version") or API_VERSION,
        }
        try:
            if outage:
                raise _ApiError(
                    outage,
                    f"stripe_standin: simulated outage (HTTP {outage}).",
                    error_type="api_error",
                )
            if parse_error:
                raise parse_error
            account = self._authenticate(headers)
            key = _header(headers, "Idempotency-Key")
            if method == "POST" and key:
                answer_headers["Idempotency-Key"] = key
                return self._idempotent(account, key, path, params, answer_headers, request_id)
            with self._lock:
                payload = self._route(account, method, path, params)
            return 200, answer_headers, _dumps(payload)
        except _ApiError as error:
            return error.status, answer_headers, _dumps(error.payload())

    def _idempotent(self, account, key, path, params, answer_headers, request_id):
        """Run a POST once per idempotency key of the account; replay its answer after."""
        if len(key) > 255:
            raise _invalid("Idempotency keys can be at most 255 characters long.")
        with self._lock:
            saved = self._idempotency.get((account, key))
            if saved is None:
                content = _dumps(self._route(account, "POST", path, params))
                # Only what ran is kept: a refused request can be sent again, corrected.
                self._idempotency[account, key] = {
                    "path": path,
                    "params": copy.deepcopy(params),
                    "content": content,
                    "request_id": request_id,
                }
                return 200, answer_headers, content
        if saved["path"] != path:
            raise _ApiError(
                400,
                f"Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved['path']}' vs '{path}'). Try using a key other than "
                f"'{key}' if you meant to execute a different request.",
                error_type="idempotency_error",
            )
        if saved["params"] != params:
            raise _ApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                error_type="idempotency_error",
            )
        answer_headers.update(
            {"Idempotent-Replayed": "true", "Original-Request": saved["request_id"]}
        )
        return 200, answer_headers, saved["content"]

    # --- the hosted page ---

    def _page(self, method, path, query):
        """Answer one request for the hosted checkout page: ``(status, headers, content)``."""
        parts = path.strip("/").split("/")
        if parts == [""] and method in ("GET", "HEAD"):
            return self._index()
        if parts[0] != "checkout" or len(parts) not in (2, 3):
            return _html(404, "Not found", "<p>There is nothing here.</p>")
        session_id = parts[1]
        with self._lock:
            record = self._sessions.get(session_id)
            if record:
                record = copy.deepcopy(self._record(session_id))
        if not record:
            return _html(404, "Not found", "<p>No such checkout session.</p>")
        if len(parts) == 2 and method in ("GET", "HEAD"):
            declined = "declined" in urllib.parse.parse_qs(query)
            return _html(200, "Checkout", _page_body(record, declined))
        if len(parts) == 3 and method == "POST":
            return self._page_action(record, parts[2])
        return _html(405, "Not allowed", "<p>Method not allowed.</p>")

    def _index(self):
        """A page listing the Checkout Sessions, newest first, each with its own page."""
        with self._lock:
            sessions = [copy.deepcopy(self._record(key)["session"]) for key in self._sessions]
        rows = "".join(
            f'<li><a href="/checkout/{html.escape(session["id"])}">'
            f"{html.escape(session.get('client_reference_id') or session['id'])}</a>: "
            f"{html.escape(format_amount(session['amount_total'], session['currency']))}, "
            f"{html.escape(session['status'])}, {html.escape(session['payment_status'])}</li>"
            for session in reversed(sessions)
        )
        return _html(
            200,
            "Checkout Sessions",
            "<h1>Stripe stand-in</h1><p>Checkout Sessions created here, newest first: open one"
            " to pay it, pay by SEPA debit or have the card declined.</p>"
            + (f"<ul>{rows}</ul>" if rows else "<p>None yet: press Pay online on a pay page.</p>"),
        )

    def _page_action(self, record, action):
        session = record["session"]
        session_id = session["id"]
        here = f"{self.api_base}/checkout/{session_id}"
        success = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        steps = {
            "pay": (lambda: self.complete(session_id), "checkout.session.completed", success),
            "pay_sepa": (
                lambda: self.complete(session_id, paid=False),
                "checkout.session.completed",
                success,
            ),
            "decline": (
                lambda: self.decline(session_id),
                "payment_intent.payment_failed",
                f"{here}?declined=1",
            ),
            "debit_succeeds": (
                lambda: self.async_succeed(session_id),
                "checkout.session.async_payment_succeeded",
                here,
            ),
            "debit_fails": (
                lambda: self.async_fail(session_id),
                "checkout.session.async_payment_failed",
                here,
            ),
        }
        if action not in steps:
            return _html(404, "Not found", "<p>There is nothing here.</p>")
        change, event_type, location = steps[action]
        try:
            if action == "pay_sepa" and "sepa_debit" not in session["payment_method_types"]:
                raise ValueError("SEPA debit is not offered")
            change()
        except ValueError:
            with self._lock:
                record = copy.deepcopy(self._record(session_id))
            return _html(409, "Checkout", _page_body(record, False))
        _logger.info("checkout %s: %s", session_id, action)
        if event_type:
            self._deliver(session_id, event_type)
        return 303, {"Location": location, "Content-Type": "text/plain"}, b""


_STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f9fc;color:#1a1f36;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
.mode{display:inline-block;background:#ffde92;color:#663c00;font-size:.75rem;padding:.1rem .4rem;
border-radius:4px}
.amount{font-size:2rem;margin:.5rem 0}
ul{padding:0;list-style:none;color:#4f566b}
.error{background:#fde2e1;color:#a41c1c;padding:.5rem;border-radius:4px}
form{margin:.5rem 0}
button{width:100%;padding:.7rem;border:0;border-radius:6px;background:#635bff;color:#fff;
font-size:1rem;cursor:pointer}
button.secondary{background:#e3e8ee;color:#1a1f36}
a{color:#635bff}
"""


def _html(status, title, body):
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - Stripe stand-in</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return status, headers, document.encode("utf-8")


def _button(session_id, action, label, secondary=False):
    css = ' class="secondary"' if secondary else ""
    return (
        f'<form method="post" action="/checkout/{html.escape(session_id)}/{action}">'
        f'<button type="submit"{css}>{html.escape(label)}</button></form>'
    )


def _page_body(record, declined):
    session = record["session"]
    session_id = session["id"]
    amount = format_amount(session["amount_total"], session["currency"])
    lines = "".join(
        f"<li>{html.escape(item['name'])} &times; {item['quantity']}: "
        f"{format_amount(item['amount'], session['currency'])}</li>"
        for item in record["items"]
    )
    parts = [
        '<span class="mode">TEST MODE</span>',
        f'<p class="amount">{html.escape(amount)}</p>',
        f"<ul>{lines}</ul>",
    ]
    if session["customer_email"]:
        parts.append(f'<p class="email">{html.escape(session["customer_email"])}</p>')
    status, payment_status = session["status"], session["payment_status"]
    if status == "open":
        if declined:
            parts.append('<p class="error" role="alert">Your card was declined.</p>')
        parts.append(_button(session_id, "pay", "Pay"))
        if "sepa_debit" in session["payment_method_types"]:
            parts.append(
                _button(session_id, "pay_sepa", "Pay by SEPA debit (processing)", secondary=True)
            )
        parts.append(_button(session_id, "decline", "Card declined", secondary=True))
        if session["cancel_url"]:
            parts.append(f'<p><a href="{html.escape(session["cancel_url"])}">Back</a></p>')
    elif status == "expired":
        parts.append('<p class="status">This checkout session has expired.</p>')
    elif payment_status == "paid":
        parts.append('<p class="status">This payment is complete.</p>')
    elif record["async_result"] == "failed":
        parts.append('<p class="status">The SEPA debit failed; nothing was taken.</p>')
    else:
        parts += [
            '<p class="status">The SEPA debit is processing.</p>',
            _button(session_id, "debit_succeeds", "Debit succeeds"),
            _button(session_id, "debit_fails", "Debit fails", secondary=True),
        ]
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--secret-key", default="sk_test_demo", help="the API key to accept")
    parser.add_argument("--webhook-url", help="where to post the account's events")
    parser.add_argument("--webhook-secret", help="the secret the events are signed with")
    args = parser.parse_args()
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    standin = StripeStandin(args.host, args.port)
    standin.add_account(args.secret_key, args.webhook_url, args.webhook_secret)
    _logger.info("Stripe stand-in listening, API base %s", standin.api_base)
    with contextlib.suppress(KeyboardInterrupt):
        standin.serve_forever()


if __name__ == "__main__":
    main()
