"""The one way an HTML page leaves the API: the console, the customer's page and the survey
page share their security headers, so a tightened policy reaches all three."""

from __future__ import annotations

import secrets

from chalice import Response  # type: ignore[attr-defined]


def html_page(
    html: str,
    nonce: str,
    *,
    style_attributes: bool = False,
    forms: bool = False,
    status: int = 200,
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
        status_code=status,
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


def prefers_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header prefers ``application/json`` to ``text/html``, by
    their quality values (RFC 9110 §12.5.1, the most specific range deciding each): JSON
    must be acceptable and rank above HTML (at equal quality, the type named rather than
    matched by a wildcard): a browser (``text/html`` first, ``*/*`` lower), ``*/*`` and
    a tie get the page; ``application/json, text/html;q=0`` (a probe found it answered
    with HTML) and ``application/json, text/plain, */*`` the JSON."""
    ranges: list[tuple[str, str, float]] = []
    for part in (accept or "").lower().split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if "/" not in media:
            continue
        kind, _, subtype = media.partition("/")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((kind.strip(), subtype.strip(), quality))

    def quality_of(kind: str, subtype: str) -> tuple[float, int]:
        best: tuple[int, float] = (-1, 0.0)
        for range_kind, range_subtype, quality in ranges:
            if (range_kind, range_subtype) == (kind, subtype):
                specificity = 2
            elif range_kind == kind and range_subtype == "*":
                specificity = 1
            elif (range_kind, range_subtype) == ("*", "*"):
                specificity = 0
            else:
                continue
            if specificity > best[0]:
                best = (specificity, quality)
        return best[1], best[0]

    as_json = quality_of("application", "json")
    return as_json[0] > 0 and as_json > quality_of("text", "html")


def link_gone_page(accept: str | None) -> Response | None:
    """For a browser (``Accept`` naming ``text/html``) that followed a forged, revoked or
    expired customer link: a 404 page in both languages (the link names no order, so no
    language), in the customer pages' look. None for any other client, which gets the
    problem document."""
    if "text/html" not in (accept or "").lower():
        return None
    from chalicelib.rendering import render

    nonce = secrets.token_urlsafe(16)  # nothing runs on it: the policy still names one
    return html_page(render("link_gone.html.j2"), nonce, style_attributes=True, status=404)


def link_gone(refused: Exception, accept: str | None) -> Response:
    """The dead link's page for a browser (``link_gone_page``); ``refused`` raised again
    for any other client, which gets the problem document."""
    gone = link_gone_page(accept)
    if gone is None:
        raise refused
    return gone
