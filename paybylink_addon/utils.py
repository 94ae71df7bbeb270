# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small helpers that need neither the ORM nor an HTTP request (crons use them too)."""

import functools
import io
import ipaddress
import math
import re
import secrets
import urllib.parse

import qrcode
import qrcode.image.svg
from psycopg2.errors import LockNotAvailable
from stdnum import iso11649

from odoo.exceptions import UserError
from odoo.modules import module
from odoo.tools import SQL

from . import const

# secrets.token_urlsafe gives base64url without padding: 4 characters per 3 bytes, rounded up.
TOKEN_LENGTH = math.ceil(const.TOKEN_BYTES * 4 / 3)
TOKEN_RE = re.compile(f"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
# The path of a customer's page inside a text (an email's body).
PAGE_PATH_RE = re.compile(f"{const.PAGE_ROUTE}/[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}(?![A-Za-z0-9_-])")


def generate_token():
    """Return a new random, URL-safe link token of ``const.TOKEN_BYTES`` bytes of entropy.

    Unlike ``payment.utils.generate_access_token`` it needs no ``odoo.http.request``, so crons and
    the Send wizard's background sending can create links.
    """
    return secrets.token_urlsafe(const.TOKEN_BYTES)


# The customer's routes and anything under them, behind a language prefix or not (Odoo answers
# /fr/paybylink/... too, with a redirect).
CUSTOMER_PATH_RE = re.compile(f"^(/[^/]+)?{const.PAGE_ROUTE}(/|$)")


def is_customer_path(path):
    """Whether ``path`` is one of the customer's pages or under them."""
    return bool(CUSTOMER_PATH_RE.match(path or ""))


def is_well_formed_token(token):
    """Return whether ``token`` has the form of a token made by ``generate_token``."""
    return bool(token) and bool(TOKEN_RE.fullmatch(token))


def build_page_url(base_url, token):
    """Return the absolute URL of the customer's page for ``token``."""
    return f"{base_url.rstrip('/')}{const.PAGE_ROUTE}/{token}"


def build_sepa_qr_payload(bic, beneficiary_name, iban, amount, reference):
    """Return the EPC069-12 (version 002) payload of a SEPA credit transfer, or None.

    Unlike ``account_qr_code_sepa``, which cuts the fields one character past their limits and
    writes the amount as a float, a field over its limit gives no payload at all: a QR code the
    customer's bank would refuse, or that pays another reference, is worse than none.

    :param str bic: the beneficiary bank's BIC; optional in version 002
    :param str beneficiary_name: at most 70 characters
    :param str iban: the beneficiary's IBAN, spaces allowed
    :param float amount: in euros, from 0.01 to 999,999,999.99
    :param str reference: an ISO 11649 creditor reference (RF...) goes in the structured field,
        anything else in the unstructured one (at most 140 characters)
    :return: the payload, or None when a field is out of the standard's bounds
    :rtype: str | None
    """
    name = (beneficiary_name or "").strip()
    iban = re.sub(r"\s+", "", iban or "").upper()
    reference = (reference or "").strip()
    structured = iso11649.compact(reference) if iso11649.is_valid(reference) else ""
    unstructured = "" if structured else reference
    if (
        not name
        or len(name) > const.BENEFICIARY_NAME_MAX_LENGTH
        or not iban
        or not const.SEPA_QR_MIN_AMOUNT <= round(amount, 2) <= const.SEPA_QR_MAX_AMOUNT
        or len(unstructured) > const.REFERENCE_MAX_LENGTH
    ):
        return None
    lines = [
        "BCD",  # service tag
        "002",  # version: the BIC is optional
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        (bic or "").replace(" ", "").upper(),
        name,
        iban,
        f"EUR{amount:.2f}",  # always two decimals, no thousands separator
        "",  # purpose code
        structured,  # at most 35 characters; an RF reference has at most 25
        unstructured,
    ]
    # The last filled field ends the payload: no trailing line breaks.
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode()) > const.SEPA_QR_MAX_BYTES:
        return None
    return payload


@functools.lru_cache(maxsize=1024)
def render_qr_svg(payload):
    """Return ``payload`` as an inline SVG QR code (error correction M), cached by payload."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload.encode())
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    # Drop the XML declaration so that the SVG can be inlined in HTML.
    return svg[svg.index("<svg") :]


def lock_rows(cr, table, ids, skip_locked=False):
    """Lock rows of ``table`` for the rest of the transaction, in id order (so that two
    transactions never lock the same rows in opposite orders), ``FOR NO KEY UPDATE``: rows that
    merely reference them (a page view, an event) are still inserted meanwhile.

    Waiting is bounded by ``const.LOCK_TIMEOUT_MS``; run it in a savepoint, since a lock not had
    in time aborts the statement (``psycopg2.errors.LockNotAvailable``).

    :param bool skip_locked: leave the rows another transaction holds instead of waiting
    :return: the ids locked
    :rtype: set[int]
    """
    if not ids:
        return set()
    if not skip_locked:
        cr.execute(SQL("SET LOCAL lock_timeout = %s", f"{const.LOCK_TIMEOUT_MS}ms"))
    cr.execute(
        SQL(
            "SELECT id FROM %s WHERE id IN %s ORDER BY id FOR NO KEY UPDATE %s",
            SQL.identifier(table),
            tuple(ids),
            SQL("SKIP LOCKED") if skip_locked else SQL(""),
        )
    )
    locked = {row[0] for row in cr.fetchall()}
    if not skip_locked:
        cr.execute("SET LOCAL lock_timeout TO DEFAULT")
    return locked


def lock_records(records, refusal):
    """Lock ``records`` (``lock_rows``) in a savepoint, so that a lock not had in time leaves
    the transaction usable.

    :param str refusal: what to tell the user then
    :raise UserError: if another transaction holds one of them for more than a few seconds
    """
    if not records:
        return
    try:
        with records.env.cr.savepoint(flush=False):
            lock_rows(records.env.cr, records._table, records.ids)
    except LockNotAvailable as error:
        raise UserError(refusal) from error
    records.invalidate_recordset()


def can_commit():
    """Whether a batch job may commit its work so far: never inside a test's transaction."""
    return not module.current_test


def mask_email(address):
    """``address`` as a page may show it to whoever holds the link: its first letter and its
    domain (``c•••••@example.com``); each address of a list so."""
    masked = []
    for part in re.split(r"[,;]", address or ""):
        local, _at, domain = part.strip().partition("@")
        if local and domain:
            masked.append(f"{local[0]}{'•' * 5}@{domain}")
    return ", ".join(masked)


def is_safe_api_base(url):
    """Whether ``url`` may receive a secret key: an https address without credentials, path or
    query, or an http one on a loopback address (a local stand-in of the API).
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # reading the port checks it is a number
    except ValueError:
        return False
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        return False
    if parts.path not in ("", "/"):
        return False
    if parts.scheme == "https":
        return True
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return parts.scheme == "http" and loopback
