# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import http
from odoo.http import content_disposition, request

from .. import const


class PaybylinkController(http.Controller):
    """The customer's pages: public, reached by an unguessable token, no login.

    Every handler takes whatever parameters it does not use: Odoo logs, in full, those a
    handler does not take, and anyone could fill the log with them."""

    _page_route = const.PAGE_ROUTE
    _help_route = const.HELP_ROUTE

    @http.route(_help_route, type="http", auth="public", methods=["GET"], sitemap=False)
    def paybylink_help(self, **_ignored):
        if wrong_method := self._wrong_method("GET"):
            return wrong_method
        ir_http = request.env["ir.http"]
        return ir_http._paybylink_render(
            "paybylink_addon.paybylink_help", {}, ir_http._paybylink_visitor_lang()
        )

    @http.route(
        f"{_page_route}/<string:token>",
        type="http",
        # No user to start with: a repeat view needs none, and Odoo's public user costs every
        # request a query. The page takes the user auth="public" would give it (see
        # ir.http._paybylink_authenticate) as soon as it renders or notes something.
        auth="none",
        methods=["GET"],
        sitemap=False,
    )
    def paybylink_page(self, token, attempt=None, **_query):
        if wrong_method := self._wrong_method("GET"):
            return wrong_method
        ir_http = request.env["ir.http"]
        if request.session.uid:
            ir_http._paybylink_authenticate()
        links_sudo = request.env["paybylink.link"].sudo()
        # The accountant opening the link from the invoice is not the customer viewing it, nor
        # is a HEAD (a link checker) a view.
        view = links_sudo._page_view(
            token,
            count_view=request.httprequest.method == "GET"
            and not (request.session.uid and request.env.user._is_internal()),
        )
        lang = view and ir_http._paybylink_lang(view.lang)
        # Nothing changed since this worker rendered the page: the page as it was.
        html = view and not attempt and links_sudo._cached_page(view, lang)
        if html and not view.first_view:
            return ir_http._paybylink_respond(html)
        ir_http._paybylink_authenticate()
        links_sudo = request.env["paybylink.link"].sudo()
        if html:
            links_sudo.browse(view.link_id)._viewed(view)
            return ir_http._paybylink_respond(html)
        link_sudo, not_found = self._find_link(token)
        if not_found:
            links_sudo._forget_view(view)
            return not_found
        link_sudo._viewed(view)
        if attempt:
            # Back from Stripe Checkout: what happened is read from Stripe, not the address.
            outcome = link_sudo._checkout_outcome(attempt) or "unknown"
            return self._render_page(link_sudo, checkout_outcome=outcome)
        html = ir_http._paybylink_html(
            "paybylink_addon.paybylink_page", self._page_values(link_sudo), lang
        )
        link_sudo._cache_page(view, lang, html)
        return ir_http._paybylink_respond(html)

    @http.route(
        f"{_page_route}/<string:token>/transfer",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def paybylink_declare_transfer(self, token, **post):
        if wrong_method := self._wrong_method("POST"):
            return wrong_method
        link_sudo, not_found = self._find_link(token)
        if not_found:
            return not_found
        if not post.get("confirmed"):
            # The box says what the customer confirms; a browser without form checks sends none.
            return self._render_page(link_sudo, transfer_unconfirmed=True)
        link_sudo._declare_transfer()
        return request.redirect(f"{self._page_route}/{token}", code=303)

    @http.route(
        f"{_page_route}/<string:token>/transfer/undo",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def paybylink_take_back_transfer(self, token, **post):
        if wrong_method := self._wrong_method("POST"):
            return wrong_method
        link_sudo, not_found = self._find_link(token)
        if not_found:
            return not_found
        link_sudo._take_back_transfer()
        return request.redirect(f"{self._page_route}/{token}", code=303)

    @http.route(
        f"{_page_route}/<string:token>/checkout",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def paybylink_checkout(self, token, **post):
        if wrong_method := self._wrong_method("POST"):
            return wrong_method
        link_sudo, not_found = self._find_link(token)
        if not_found:
            return not_found
        checkout_url, error = link_sudo._start_checkout()
        if checkout_url:
            return request.redirect(checkout_url, code=303, local=False)
        if error:
            # 200 with the notice: a reverse proxy replacing 5xx pages with its own would hide
            # the transfer details the page still offers.
            return self._render_page(link_sudo, checkout_error=error)
        return request.redirect(f"{self._page_route}/{token}", code=303)

    @http.route(
        f"{_page_route}/<string:token>/renew",
        type="http",
        auth="public",
        methods=["POST"],
        sitemap=False,
    )
    def paybylink_renew(self, token, **post):
        if wrong_method := self._wrong_method("POST"):
            return wrong_method
        working_sudo, sent_sudo = request.env["paybylink.link"]._find_by_token(token)
        if working_sudo:
            # Renewed meanwhile, or asked from a page that was old: the link works.
            return request.redirect(f"{self._page_route}/{token}", code=303)
        if not (sent_sudo and sent_sudo._can_renew()):
            return self._not_found(sent_sudo.company_id)
        outcome, masked_email = sent_sudo._renew_on_request()
        return request.env["ir.http"]._paybylink_render(
            "paybylink_addon.paybylink_renewal",
            {"company": sent_sudo.company_id, "outcome": outcome, "masked_email": masked_email},
            sent_sudo.customer_lang,
        )

    @http.route(
        f"{_page_route}/stripe/webhook",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        sitemap=False,
        save_session=False,
    )
    def paybylink_stripe_webhook(self, **_ignored):
        if wrong_method := self._wrong_method("POST"):
            return wrong_method
        # Authenticity comes from the signature of the raw body, checked before anything else.
        status, reason = (
            request.env["paybylink.stripe.event"]
            .sudo()
            ._paybylink_process_webhook(
                request.httprequest.get_data(), request.httprequest.headers.get("Stripe-Signature")
            )
        )
        return request.make_response(
            reason, headers=[("Content-Type", "text/plain; charset=utf-8")], status=status
        )

    @http.route(
        f"{_page_route}/<string:token>/invoice.pdf",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def paybylink_invoice_pdf(self, token, **_ignored):
        if wrong_method := self._wrong_method("GET"):
            return wrong_method
        link_sudo, not_found = self._find_link(token)
        if not_found:
            return not_found
        filename, content, mimetype = link_sudo.move_id._paybylink_invoice_pdf()
        headers = {"Content-Type": mimetype, "Content-Disposition": content_disposition(filename)}
        return request.make_response(content, headers=list(headers.items()))

    # === HELPERS === #

    def _wrong_method(self, method):
        """The 405 to answer when the request is not of the route's ``method`` (HEAD goes with
        GET), else None. Odoo routes OPTIONS to every handler, without its CSRF check: a
        preflight or a link checker must change nothing."""
        allowed = ("GET", "HEAD") if method == "GET" else (method,)
        if request.httprequest.method in allowed:
            return None
        return request.make_response(
            "Method not allowed",
            headers=[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Allow", ", ".join(allowed)),
            ],
            status=405,
        )

    def _find_link(self, token):
        """Return the working link (sudo) behind ``token``, or the 404 page to answer instead.

        :return: the link and None, or an empty recordset and the response
        """
        link_sudo, sent_sudo = request.env["paybylink.link"]._find_by_token(token)
        if link_sudo:
            return link_sudo, None
        if not (sent_sudo and sent_sudo._can_renew()):
            return link_sudo, self._not_found(sent_sudo.company_id)
        # The customer's link: their language, as its page was.
        return link_sudo, request.env["ir.http"]._paybylink_not_found(
            sent_sudo.company_id, f"{self._page_route}/{token}/renew", sent_sudo.customer_lang
        )

    def _render_page(self, link_sudo, **values):
        return request.env["ir.http"]._paybylink_render(
            "paybylink_addon.paybylink_page",
            self._page_values(link_sudo, **values),
            link_sudo.customer_lang,
        )

    def _page_values(self, link_sudo, **values):
        return {
            "checkout_outcome": False,
            "checkout_error": False,
            "transfer_unconfirmed": False,
            **link_sudo._get_page_values(),
            **values,
        }

    def _not_found(self, company_sudo):
        return request.env["ir.http"]._paybylink_not_found(company_sudo)
