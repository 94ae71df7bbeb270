# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small helpers that need neither the ORM nor an HTTP request (crons use them too)."""

import math
import re
import secrets

from . import const

# secrets.token_urlsafe gives base64url without padding: 4 characters per 3 bytes, rounded up.
TOKEN_LENGTH = math.ceil(const.TOKEN_BYTES * 4 / 3)
TOKEN_RE = re.compile(f"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def generate_token():
    """Return a new random, URL-safe link token of ``const.TOKEN_BYTES`` bytes of entropy.

    Unlike ``payment.utils.generate_access_token`` it needs no ``odoo.http.request``, so crons and
    the Send wizard's background sending can create links.
    """
    return secrets.token_urlsafe(const.TOKEN_BYTES)


def is_well_formed_token(token):
    """Return whether ``token`` has the form of a token made by ``generate_token``."""
    return bool(token) and bool(TOKEN_RE.fullmatch(token))


def build_page_url(base_url, token):
    """Return the absolute URL of the customer's page for ``token``."""
    return f"{base_url.rstrip('/')}{const.PAGE_ROUTE}/{token}"
