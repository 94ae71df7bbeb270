/** @odoo-module **/
// An accountant sends a posted invoice with Odoo's "Print & Send", ticking "Add a payment link",
// as the web client fills that form. Started on the invoice's form by test_ui.py, which then
// checks the email and opens its link.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("paybylink_send_with_invoice_tour", {
    steps: () => [
        {
            content: "Open Odoo's Send form",
            trigger: "button[name=action_invoice_sent]",
            run: "click",
        },
        {
            content: "Add the payment link",
            trigger: ".modal div[name=paybylink_add] input[type=checkbox]",
            run: "click",
        },
        {
            content: "The email shows the link it will carry",
            trigger: ".modal div[name=mail_body] a[href*='/paybylink/']",
        },
        {
            content: "Send",
            trigger: ".modal button[name=action_send_and_print]",
            run: "click",
        },
        {
            content: "Sent: the form shows the link's status",
            trigger: "body:not(:has(.modal)) div[name=paybylink_state] .badge:contains('Not opened')",
        },
    ],
});
