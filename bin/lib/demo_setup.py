# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Create the demo database: a French company with an IBAN, customers with emails, posted invoices.

Run by bin/demo with Odoo's own options (``-d``, ``--addons-path``, ``--db_host``...) followed by
``--base-url URL``. Everything is created through the ORM, as a user of the addon would.
"""

import argparse
import logging
import sys
from datetime import timedelta

import odoo
from odoo import Command, fields
from odoo.modules.registry import Registry
from odoo.service import db as db_service
from odoo.tools import config

_logger = logging.getLogger("paybylink.demo")

COMPANY = {
    "name": "Atelier Lumière SARL",
    "street": "12 rue des Artisans",
    "zip": "69002",
    "city": "Lyon",
    "email": "compta@atelier-lumiere.example",
    "phone": "+33 4 72 00 00 00",
}
IBAN = "FR76 3000 6000 0112 3456 7890 189"
BIC = "AGRIFRPP"
CUSTOMERS = [
    ("Boulangerie Martin", "camille.martin@boulangerie-martin.example", "fr_FR"),
    ("Cabinet Durand & Associés", "compta@cabinet-durand.example", "fr_FR"),
    ("Northwind Traders Ltd", "accounts@northwind.example", "en_US"),
]
# (customer index, days since the invoice, [(label, price)])
INVOICES = [
    (0, 20, [("Luminaires sur mesure", 1250.0)]),
    (0, 5, [("Entretien annuel", 180.0), ("Ampoules LED (lot de 20)", 96.5)]),
    (1, 35, [("Éclairage des bureaux", 4320.0)]),
    (2, 12, [("Custom pendant lamps", 2780.0)]),
    (2, 2, [("Installation", 640.0)]),
]


def create_database(db_name):
    db_service._create_empty_database(db_name)
    # Installs base with the French language, a French company in EUR and an "admin" user.
    db_service._initialize_db(None, db_name, False, "fr_FR", "admin", "admin", "FR")
    config["init"] = dict.fromkeys(["paybylink_addon", "l10n_fr_account"], True)
    registry = Registry.new(db_name, update_module=True)
    # The demo stays offline: no enrichment of partners from Odoo's servers.
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["ir.module.module"].search(
            [("name", "=", "partner_autocomplete"), ("state", "=", "installed")]
        ).button_immediate_uninstall()


def fill_database(env, base_url):
    env["res.lang"]._activate_lang("en_US")  # for the English-speaking customer
    env["ir.config_parameter"].set_param("web.base.url", base_url)
    env["ir.config_parameter"].set_param("web.base.url.freeze", True)
    company = env.company
    company.write(COMPANY)
    bank = env["res.bank"].create({"name": "Crédit Agricole", "bic": BIC})
    iban = env["res.partner.bank"].create(
        {"acc_number": IBAN, "partner_id": company.partner_id.id, "bank_id": bank.id}
    )
    company.paybylink_partner_bank_id = iban
    # On the partner: changing a user's email would send it a security alert.
    env.ref("base.user_admin").partner_id.email = "comptable@atelier-lumiere.example"

    customers = env["res.partner"].create(
        [
            {"name": name, "email": email, "lang": lang, "is_company": True}
            for name, email, lang in CUSTOMERS
        ]
    )
    today = fields.Date.context_today(env["res.partner"])
    thirty_days = env.ref("account.account_payment_term_30days")
    invoices = env["account.move"].create(
        [
            {
                "move_type": "out_invoice",
                "partner_id": customers[customer].id,
                "invoice_date": today - timedelta(days=age),
                "partner_bank_id": iban.id,
                "invoice_user_id": env.ref("base.user_admin").id,
                "invoice_payment_term_id": thirty_days.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": label,
                            "quantity": 1,
                            "price_unit": price,
                            "tax_ids": [Command.set(company.account_sale_tax_id.ids)],
                        }
                    )
                    for label, price in lines
                ],
            }
            for customer, age, lines in INVOICES
        ]
    )
    invoices.action_post()
    _logger.info("Demo data: %s posted invoices for %s customers", len(invoices), len(customers))
    return invoices


def configure_stripe(company, api_base, secret_key, webhook_secret):
    """Let customers pay online through the Stripe stand-in at ``api_base``."""
    journal = company.env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
    )
    company.write(
        {
            "paybylink_stripe_secret_key": secret_key,
            "paybylink_stripe_webhook_secret": webhook_secret,
            "paybylink_stripe_api_base": api_base,
            "paybylink_stripe_journal_id": journal.id,
            "paybylink_stripe_payment_methods": "card,sepa_debit",
        }
    )


def send_links(invoices):
    """Send every invoice's payment link as the form does, the emails left in the queue."""
    for invoice in invoices.with_context(mail_notify_force_send=False):
        action = invoice.action_paybylink_send()
        wizard = invoice.env[action["res_model"]].with_context(**action["context"]).create({})
        wizard.action_send()
        invoice._portal_ensure_token()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument(
        "--send-links", action="store_true", help="also send every invoice's payment link"
    )
    parser.add_argument("--stripe-api-base", help="pay online through this Stripe stand-in")
    parser.add_argument("--stripe-secret-key", default="sk_test_demo")
    parser.add_argument("--stripe-webhook-secret", default="whsec_demo")
    args, odoo_args = parser.parse_known_args()
    config.parse_config(odoo_args)
    odoo.netsvc.init_logger()
    db_name = config["db_name"]
    create_database(db_name)
    registry = Registry(db_name)
    with registry.cursor() as cr:
        invoices = fill_database(odoo.api.Environment(cr, odoo.SUPERUSER_ID, {}), args.base_url)
        if args.stripe_api_base:
            configure_stripe(
                invoices.company_id,
                args.stripe_api_base,
                args.stripe_secret_key,
                args.stripe_webhook_secret,
            )
        if args.send_links:
            send_links(invoices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
