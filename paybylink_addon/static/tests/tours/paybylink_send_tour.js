/** @odoo-module **/
// An accountant sends a payment link from a posted invoice, then finds its status on the form and
// in the list of customer invoices. Started on the invoice's form by test_ui.py.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("paybylink_send_tour", {
    steps: () => [
        {
            content: "Open the Send payment link form",
            trigger: "button[name=action_paybylink_send]",
            run: "click",
        },
        {
            content: "The amount is the invoice total and cannot be edited",
            trigger: ".modal div[name=amount] span:contains('1,000.00')",
        },
        {
            content: "The customer's email is proposed",
            trigger: ".modal div[name=email_to] input:value(camille.martin@example.com)",
        },
        {
            content: "Send the link",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "The form shows the status",
            trigger: "div[name=paybylink_state] .badge:contains('Not opened')",
        },
        {
            content: "Once sent, the link opens and reminds; it is not sent twice",
            trigger: "button[name=action_paybylink_open]:contains('Payment link sent')",
        },
        {
            content: "A reminder shows the email before it goes",
            trigger: "button[name=action_paybylink_remind_preview]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_html:contains('/paybylink/')",
        },
        {
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o_form_view:not(:has(button[name=action_paybylink_send]))",
        },
        {
            content: "Back to the list of invoices",
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "The list shows the status as a badge",
            trigger: ".o_list_renderer td[name=paybylink_state] .badge:contains('Not opened')",
        },
    ],
});
