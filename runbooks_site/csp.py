"""The Content-Security-Policy header (django-csp), with the two per-request parts a static setting cannot say."""

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

# django-rq's dashboard in the admin is django-rq's own templates, with inline <script> and <style>;
# staff-only and rendered from Redis data Django escapes, it keeps working with inline code allowed.
INLINE_ALLOWED_PREFIXES = ("/admin/django_rq/",)


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False):
        parts: PolicyParts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        try:
            host = request.get_host()
        except DisallowedHost:
            host = ""
        if host:
            # The live pages' socket, on this host only: 'self' covers ws(s): only in CSP level 3 browsers.
            update["connect-src"] = [f"{'wss' if request.is_secure() else 'ws'}://{host}"]
        if request.path_info.startswith(INLINE_ALLOWED_PREFIXES):
            update["script-src"] = [UNSAFE_INLINE]
            update["style-src"] = [UNSAFE_INLINE]
        parts.update = update or None
        return parts
