"""The one way an HTML page leaves the API: the console, the customer's page and the survey
page share their security headers, so a tightened policy reaches all three."""

from __future__ import annotations

from chalice import Response  # type: ignore[attr-defined]


def html_page(
    html: str, nonce: str, *, style_attributes: bool = False, forms: bool = False
) -> Response:
    """A page whose only script and style are its own (the nonce); nothing cached, no
    referrer (the customer's page has its token in the URL), not framed, no form posts
    unless ``forms`` (then to this site only: the customer's page works without
    JavaScript). ``style_attributes`` allows inline ``style=""`` for pages that share the
    emails' look, which email clients need inline."""
    styles = "style-src-attr 'unsafe-inline'; " if style_attributes else ""
    form_action = "'self'" if forms else "'none'"
    return Response(
        body=html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                f"{styles}connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                f"form-action {form_action}; frame-ancestors 'none'"
            ),
        },
    )
