# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import secrets

from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from odoo import models
from odoo.http import request

from .. import const, utils

# Stands for the visitor's CSRF token in a rendered page; random, so that nothing a page shows
# (a customer's name, an invoice line) can contain it.
CSRF_TOKEN_PLACEHOLDER = secrets.token_hex(20)


class IrHttp(models.AbstractModel):
    """Every answer under the customer's routes carries ``const.PAGE_HEADERS``: the pages, and
    what Odoo answers there on its own (a language redirect, a wrong method, a failed CSRF
    check, a path under a page that does not exist), so that none is cached, indexed or leaks
    its token as a referrer. Such a missing path gets the addon's own "not available" page."""

    _inherit = "ir.http"

    @classmethod
    def _match(cls, path):
        try:
            return super()._match(path)
        except HTTPException as answer:
            # Odoo's routing answers a redirect or a 405 by raising it, past _post_dispatch.
            if utils.is_customer_path(path):
                answer.error_response = cls._paybylink_with_headers(cls._routing_answer(answer))
            raise

    @classmethod
    def _routing_answer(cls, answer):
        """The response of ``answer``, raised by the routing of a customer's path."""
        if isinstance(answer, RequestRedirect):
            # Werkzeug merging a path's slashes: its own answer names the Host header as the
            # page's address, and is cached as permanent.
            return request.redirect(answer.new_url, code=answer.code)
        if isinstance(answer, MethodNotAllowed):
            # Odoo lists OPTIONS for every route, and the route then refuses it (_wrong_method).
            answer.valid_methods = [m for m in answer.valid_methods if m != "OPTIONS"]
        return answer.get_response(request.httprequest.environ)

    @classmethod
    def _pre_dispatch(cls, rule, args):
        result = super()._pre_dispatch(rule, args)
        if request.httprequest.method == "POST" and utils.is_customer_path(
            request.httprequest.path
        ):
            try:
                # Read once, before the form or the webhook's signature check reads it again
                # from memory: a body the client garbles (a chunked one that is not) or stops
                # sending is a bad request, not a server error.
                request.httprequest.get_data()
            except OSError as error:
                raise BadRequest(request.env._("The request could not be read.")) from error
        return result

    @classmethod
    def _post_dispatch(cls, response):
        result = super()._post_dispatch(response)
        if utils.is_customer_path(request.httprequest.path):
            response.headers.update(const.PAGE_HEADERS)
        return result

    @classmethod
    def _handle_error(cls, exception):
        if not utils.is_customer_path(request.httprequest.path):
            return super()._handle_error(exception)
        if isinstance(exception, NotFound):
            if not request.uid:
                cls._auth_method_public()
            return cls._paybylink_not_found(request.env["res.company"])
        response = super()._handle_error(exception)
        if isinstance(response, HTTPException):
            response = response.get_response(request.httprequest.environ)
        return cls._paybylink_with_headers(response)

    @classmethod
    def _paybylink_authenticate(cls):
        """Give a request to a route served without a user (auth="none") the user auth="public"
        would have given it: the visitor's if logged in (Odoo checked their session), else the
        public user."""
        if request.env.uid is None:
            if request.session.uid:
                request.update_env(user=request.session.uid)
            else:
                cls._auth_method_public()

    @classmethod
    def _paybylink_with_headers(cls, response):
        response.headers.update(const.PAGE_HEADERS)
        return response

    @classmethod
    def _paybylink_render(cls, template, values, lang, status=200):
        """The customer's page of ``template``, in ``lang`` if installed."""
        return cls._paybylink_respond(
            cls._paybylink_html(template, values, cls._paybylink_lang(lang)), status
        )

    @classmethod
    def _paybylink_lang(cls, lang):
        """The language a customer's page is rendered in: ``lang`` if installed, else the
        request's."""
        if lang in dict(request.env["res.lang"].get_installed()):
            request.update_context(lang=lang)
        return request.env.lang

    @classmethod
    def _paybylink_html(cls, template, values, lang):
        """The HTML of the customer's page of ``template`` in ``lang`` (``_paybylink_lang``),
        the same for every visitor: the CSRF token, the one part that depends on the visitor's
        session, is a placeholder that ``_paybylink_respond`` fills.

        Rendered with only the values it is given (``minimal_qcontext``): the pages need
        nothing of Odoo's frontend context, which costs every view a read of the user and of
        their company."""
        html = request.env["ir.qweb"]._render(
            template,
            {
                **values,
                "html_lang": (lang or "en_US").replace("_", "-"),
                "csrf_token": CSRF_TOKEN_PLACEHOLDER,
            },
            minimal_qcontext=True,
        )
        return str(html)

    @classmethod
    def _paybylink_respond(cls, html, status=200):
        """The response of a customer's page rendered by ``_paybylink_html``."""
        return request.make_response(
            html.replace(CSRF_TOKEN_PLACEHOLDER, request.csrf_token()),
            headers=[("Content-Type", "text/html; charset=utf-8"), *const.PAGE_HEADERS.items()],
            status=status,
        )

    @classmethod
    def _paybylink_not_found(cls, company_sudo, renew_url=None, lang=None):
        """The page of a token, or a path under one, that does not work: it names the company
        only if the token was once valid, and never an invoice; it offers a new link at
        ``renew_url`` when the link expired or was replaced. In ``lang``, else the visitor's."""
        return cls._paybylink_render(
            "paybylink_addon.paybylink_not_found",
            {"company": company_sudo, "renew_url": renew_url},
            lang or cls._paybylink_visitor_lang(),
            status=404,
        )

    @classmethod
    def _paybylink_visitor_lang(cls):
        """The installed language the visitor's browser prefers, by full code then language."""
        candidates = {}
        for code, _name in request.env["res.lang"].get_installed():
            candidates.setdefault(code.replace("_", "-"), code)
            candidates.setdefault(code.split("_")[0], code)
        best = request.httprequest.accept_languages.best_match(list(candidates))
        return candidates.get(best)
