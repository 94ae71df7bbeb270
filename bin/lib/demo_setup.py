# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Create the demo database: a French company with an IBAN, customers with emails, posted invoices.

Run by bin/demo with Odoo's own options (``-d``, ``--addons-path``, ``--db_host``...) followed by
``--base-url URL``. Everything is created through the ORM, as a user of the addon would. With
``--scenarios`` (bin/demo) each invoice's link is brought to a status of its own the way a customer
and the bank would bring it there (SCENARIOS): through the addon's own methods, the Stripe stand-in
at ``--stripe-api-base`` for the online payments, and a bank statement that the matching reconciles.
"""

import argparse
import base64
import io
import logging
import sys
import urllib.error
import urllib.request
from datetime import date, timedelta

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
# (customer index, days from today to the due date, [(label, price)], what becomes of its link
# with --scenarios; see SCENARIOS)
INVOICES = [
    (0, -24, [("Luminaires sur mesure", 1250.0)], "reminded"),
    (1, -17, [("Éclairage des bureaux", 4320.0)], "paid_in_part_by_transfer"),
    (2, -9, [("Custom pendant lamps", 2780.0)], "paid_online"),
    (1, -4, [("Audit énergétique", 950.0)], "paid_by_transfer"),
    (2, 2, [("Installation", 640.0)], "debit_failed"),
    (0, 6, [("Entretien annuel", 180.0), ("Ampoules LED (lot de 20)", 96.5)], "transfer_declared"),
    (2, 15, [("Showroom lighting design", 1875.0)], "sent_with_invoice"),
    (0, 27, [("Vitrine de Noël", 520.0)], "no_link"),
]
# Days an invoice has to be paid, at most (its date stays in this year and before today).
PAYMENT_DAYS = 30


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
    company.write({**COMPANY, "logo": company_logo()})
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
    invoices = env["account.move"].create(
        [
            {
                "move_type": "out_invoice",
                "partner_id": customers[customer].id,
                **invoice_dates(today, due_in),
                "partner_bank_id": iban.id,
                "invoice_user_id": env.ref("base.user_admin").id,
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
            for customer, due_in, lines, _scenario in INVOICES
        ]
    )
    invoices.action_post()
    _logger.info("Demo data: %s posted invoices for %s customers", len(invoices), len(customers))
    return invoices


def invoice_dates(today, due_in):
    """An invoice's date and due date: due ``due_in`` days from today, dated up to PAYMENT_DAYS
    earlier, within this year and not after today."""
    due = today + timedelta(days=due_in)
    invoice_date = min(today, max(date(today.year, 1, 1), due - timedelta(days=PAYMENT_DAYS)))
    return {"invoice_date": invoice_date, "invoice_date_due": max(due, invoice_date)}


def company_logo():
    """A logo for the company, drawn here (a lamp on a dark square) rather than kept as a file."""
    from PIL import Image, ImageDraw  # Odoo's own requirement

    image = Image.new("RGB", (256, 256), "#1f3a5f")
    draw = ImageDraw.Draw(image)
    draw.line([(128, 0), (128, 70)], fill="#d9dee5", width=6)
    draw.polygon([(78, 70), (178, 70), (218, 150), (38, 150)], fill="#d9dee5")
    draw.ellipse([(98, 130), (158, 190)], fill="#ffd166")
    for ray in ((128, 200, 128, 236), (88, 190, 66, 216), (168, 190, 190, 216)):
        draw.line(ray, fill="#ffd166", width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue())


# === STRIPE === #


def configure_stripe(company, secret_key, webhook_secret):
    """Let customers pay online, into a journal of its own, by card or SEPA debit."""
    journal = company.env["account.journal"].create(
        {"name": "Stripe", "code": "STRP", "type": "bank", "company_id": company.id}
    )
    company.write(
        {
            "paybylink_stripe_secret_key": secret_key,
            "paybylink_stripe_webhook_secret": webhook_secret,
            "paybylink_stripe_journal_id": journal.id,
            "paybylink_stripe_payment_methods": "card,sepa_debit",
        }
    )


def set_stripe_api_base(company, api_base):
    """Send the company's Stripe calls to the stand-in at ``api_base`` (the one place that says
    where Stripe is)."""
    company.paybylink_stripe_api_base = api_base


def press_checkout_button(api_base, session, action):
    """Do what the customer does on the stand-in's checkout page of ``session``: ``pay`` (card),
    ``pay_sepa`` (a debit, processed later), ``debit_fails``... The stand-in then posts its
    webhook to Odoo, which is not serving yet: the news comes back from Stripe when asked
    (the customer's return to the pay page, the cron's poll), as it does when a webhook is lost."""
    url = f"{api_base}/checkout/{session.stripe_session_id}/{action}"
    request = urllib.request.Request(url, data=b"", method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        if error.code != 303:  # the stand-in sends the customer on with a 303
            raise


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# === LINKS, THEIR CUSTOMERS AND THE BANK === #


def send_links(invoices):
    """Send every invoice's payment link as the form does, the emails left in the queue."""
    for invoice in invoices:
        send_link(invoice)


def send_link(invoice):
    """Send the invoice's payment link through the "Send payment link" form."""
    invoice = invoice.with_context(mail_notify_force_send=False)
    action = invoice.action_paybylink_send()
    wizard = invoice.env[action["res_model"]].with_context(**action["context"]).create({})
    wizard.action_send()
    invoice._portal_ensure_token()


def send_invoice_with_link(invoice):
    """Send the invoice by email through Odoo's Send form, with its payment link added."""
    invoice = invoice.with_context(mail_notify_force_send=False)
    action = invoice.action_send_and_print()
    wizard = invoice.env[action["res_model"]].with_context(**action["context"]).create({})
    wizard.paybylink_add = True
    wizard.action_send_and_print()
    invoice._portal_ensure_token()


def start_online_payment(link):
    """The customer presses "Pay online" on the pay page: a Checkout Session at the stand-in."""
    link._record_visit()
    link._start_checkout()
    return link.stripe_session_ids.filtered(lambda session: session.state == "open")[:1]


def pay_online(link, api_base):
    """Paid by card: Stripe Checkout, then back on the pay page, which reads the outcome."""
    session = start_online_payment(link)
    press_checkout_button(api_base, session, "pay")
    link._checkout_outcome(session.attempt_ref)


def fail_debit(link, api_base):
    """A SEPA debit: processing after checkout, then refused by the bank, as the cron's poll
    of Stripe learns."""
    session = start_online_payment(link)
    press_checkout_button(api_base, session, "pay_sepa")
    link._checkout_outcome(session.attempt_ref)
    press_checkout_button(api_base, session, "debit_fails")
    session._paybylink_refresh()


def bank_statement(company, lines):
    """The bank's statement of the day, with ``lines`` of (label, amount); the matching then
    reconciles those that name one invoice (the reconcile cron's own run)."""
    journal = company.env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id), ("code", "!=", "STRP")],
        limit=1,
    )
    today = fields.Date.context_today(journal)
    statement = company.env["account.bank.statement"].create(
        {
            "name": f"Relevé {today.strftime('%d/%m/%Y')}",
            "journal_id": journal.id,
            "line_ids": [
                Command.create(
                    {
                        "date": today,
                        "payment_ref": label,
                        "amount": amount,
                        "journal_id": journal.id,
                    }
                )
                for label, amount in lines
            ],
        }
    )
    company.env["account.move"]._cron_paybylink_reconcile()
    return statement


def play_scenarios(invoices, api_base):
    """Bring each invoice's link to the status its INVOICES entry names.

    :return: the invoices by scenario name
    """
    by_scenario = dict(zip((entry[3] for entry in INVOICES), invoices, strict=True))
    company = invoices.company_id
    company.paybylink_send_with_invoice = True
    for name, invoice in by_scenario.items():
        if name == "sent_with_invoice":
            send_invoice_with_link(invoice)
        elif name != "no_link":
            send_link(invoice)
    links = {name: invoice.paybylink_link_id for name, invoice in by_scenario.items()}
    # Not opened: the customer looked twice and was reminded once ("Send reminder").
    links["reminded"]._record_visit()
    links["reminded"]._record_visit()
    by_scenario["reminded"].with_context(mail_notify_force_send=False).action_paybylink_remind()
    # Payment in progress: "I have made the transfer" on the pay page.
    links["transfer_declared"]._record_visit()
    links["transfer_declared"]._declare_transfer()
    if api_base:
        pay_online(links["paid_online"], api_base)  # Paid
        fail_debit(links["debit_failed"], api_base)  # Payment interrupted
    # Paid by a bank transfer naming the reference; Payment in progress, paid in part; a line
    # naming two invoices, left with a note saying why.
    paid, part = by_scenario["paid_by_transfer"], by_scenario["paid_in_part_by_transfer"]
    both = by_scenario["debit_failed"] | by_scenario["sent_with_invoice"]
    bank_statement(
        company,
        [
            (f"VIR SEPA CABINET DURAND {paid.paybylink_reference}", paid.amount_total),
            (f"VIR CABINET DURAND ACOMPTE {part.paybylink_reference}", 2000.0),
            (
                "NORTHWIND TRADERS " + " ".join(both.mapped("paybylink_reference")),
                sum(both.mapped("amount_total")),
            ),
        ],
    )
    return by_scenario


def what_to_try(by_scenario, base_url):
    """The lines bin/demo prints about the data: where to see each feature."""
    # The path Odoo 18 gives its customer invoices action (account.action_move_out_invoice_type).
    invoice_url = f"{base_url}/odoo/invoicing"

    def page(name):
        return by_scenario[name].paybylink_url

    fresh = by_scenario["no_link"]
    return [
        f"  Send a link:  {invoice_url}/{fresh.id}",
        f'                ({fresh.name}, no link yet: "Envoyer un lien d\'encaissement", or'
        ' "Envoyer" with "Ajouter un lien d\'encaissement")',
        f"  Pay pages:    {page('sent_with_invoice')}   (Not opened: try Pay online)",
        f"                {page('transfer_declared')}   (Payment in progress, transfer declared)",
        f"                {page('debit_failed')}   (Payment interrupted: SEPA debit refused)",
        f"                {page('paid_online')}   (Paid online)",
        f"  Statuses:     {invoice_url}   (the list, with a badge, filter and group by per status)",
        f"  Bank lines:   {by_scenario['paid_by_transfer'].name} paid and"
        f" {by_scenario['paid_in_part_by_transfer'].name} paid in part by the statement the"
        " matching reconciled; its third line names two invoices and is left with a note",
        f"  Help page:    {base_url}/paybylink/help",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument(
        "--send-links", action="store_true", help="also send every invoice's payment link"
    )
    parser.add_argument(
        "--scenarios",
        action="store_true",
        help="bring the invoices' links to every status (online payments need --stripe-api-base)",
    )
    parser.add_argument("--summary", help="write there what to try in the demo, for bin/demo")
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
                invoices.company_id, args.stripe_secret_key, args.stripe_webhook_secret
            )
            set_stripe_api_base(invoices.company_id, args.stripe_api_base)
        if args.scenarios:
            by_scenario = play_scenarios(invoices, args.stripe_api_base)
            if args.summary:
                with open(args.summary, "w", encoding="utf-8") as summary:
                    summary.write("\n".join(what_to_try(by_scenario, args.base_url)) + "\n")
        elif args.send_links:
            send_links(invoices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
