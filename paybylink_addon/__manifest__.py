# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Pay by Link",
    "summary": "Email customers a link to pay their invoice, and follow it until it is paid",
    "version": "18.0.1.4.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "paybylink_addon developers",
    "website": "https://github.com/paybylink/paybylink_addon",
    "depends": [
        "account_payment",
        "portal",
        "mail",
        "base_iban",
    ],
    "external_dependencies": {"python": ["stripe"]},
    "data": [
        "security/ir.model.access.csv",
        "security/paybylink_security.xml",
        "data/ir_cron_data.xml",
        "data/mail_template_data.xml",
        "wizard/paybylink_send_wizard_views.xml",
        "wizard/paybylink_reminder_wizard_views.xml",
        "wizard/account_move_send_wizard_views.xml",
        "views/account_move_views.xml",
        "views/res_config_settings_views.xml",
        "views/res_partner_views.xml",
        "views/paybylink_templates.xml",
        "views/paybylink_mail_templates.xml",
        "views/portal_templates.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "paybylink_addon/static/src/scss/paybylink_badges.scss",
        ],
        "web.assets_tests": [
            "paybylink_addon/static/tests/tours/*.js",
        ],
    },
}
