# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small helpers that need neither the ORM nor an HTTP request (crons use them too)."""

import secrets

from . import const


def generate_token():
    """Return a new random, URL-safe link token of ``const.TOKEN_BYTES`` bytes of entropy.

    Unlike ``payment.utils.generate_access_token`` it needs no ``odoo.http.request``, so crons and
    the Send wizard's background sending can create links.
    """
    return secrets.token_urlsafe(const.TOKEN_BYTES)


def build_page_url(base_url, token):
    """Return the absolute URL of the customer's page for ``token``."""
    return f"{base_url.rstrip('/')}{const.PAGE_ROUTE}/{token}"
