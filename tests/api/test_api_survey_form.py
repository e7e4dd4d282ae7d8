"""The survey as a plain HTML form, for a phone without JavaScript: it posts
``application/x-www-form-urlencoded`` to ``/surveys/{token}/form`` and is answered 303
back to the page, which says how it went. Forged links, forms from another site and bad
input first."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode, urljoin, urlparse

from chalicelib.services.survey_links import survey_url
from chalicelib.services.tracking import form_token
from tests.api.test_api_surveys import _delivered
from tests.support import assert_problem, order_body
from tests.support.api import place_order
from tests.support.orders import wait_for_status
from tests.support.pages import form_target

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTML = {"Accept": "text/html"}


def _page(client: Any, path: str) -> str:
    response = client.http.get(path, headers=HTML)
    assert response.status_code == 200, response.body
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]
    html: str = response.body.decode()
    return html


def _csrf(html: str) -> str:
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]*)">', html)
    assert found, "the survey page has no form token"
    return unescape(found.group(1))


def _post(client: Any, path: str, fields: dict[str, str], **headers: str) -> Any:
    return client.http.post(f"{path}/form", headers=FORM | headers, body=urlencode(fields))


def _outcome(client: Any, path: str, response: Any) -> tuple[str, str]:
    """The page the 303 leads to, as a browser resolves it: its outcome and notice."""
    assert response.status_code == 303, response.body
    # An empty body is not JSON: the redirect says what it carries.
    assert (response.body, response.headers["Content-Type"]) == (b"", "text/plain; charset=utf-8")
    target = urlparse(urljoin(f"http://shop.test{path}/form", response.headers["Location"]))
    assert target.path == path
    html = _page(client, f"{target.path}?{target.query}")
    notice = re.search(r'id="notice" role="status" data-outcome="(\w+)">([^<]*)<', html)
    assert notice, html
    return notice.group(1), unescape(notice.group(2))


def test_the_survey_form_posts_without_javascript_and_is_answered_once(
    client: Any, deps: Any
) -> None:
    delivered = _delivered(client)
    path, order_id = delivered["path"], delivered["placed"]["order_id"]
    html = _page(client, path)
    token = path.rsplit("/", 1)[1]
    assert re.search(rf'id="survey" method="post" action="{re.escape(token)}/form"', html)
    csrf = _csrf(html)

    # Refused, and nothing kept: no form token, another's, or posted from another site.
    assert_problem(_post(client, path, {"score": "5"}), 403, "csrf")
    assert_problem(_post(client, path, {"score": "5", "csrf": "k1.0000"}), 403, "csrf")
    cross = _post(client, path, {"score": "5", "csrf": csrf}, **{"Sec-Fetch-Site": "cross-site"})
    assert_problem(cross, 403, "Sec-Fetch-Site")
    # Probe 205: a post naming another site by its Origin was answered "done".
    evil = _post(client, path, {"score": "5", "csrf": csrf}, Origin="https://evil.example")
    assert_problem(evil, 403, "Origin")
    assert_problem(_post(client, path + "x", {"score": "5", "csrf": csrf}), 404, "token")
    # No score: said on the page, nothing kept.
    assert _outcome(client, path, _post(client, path, {"csrf": csrf, "comment": "x"})) == (
        "invalid",
        "Elige una puntuación del 1 al 5.",
    )
    assert deps.surveys.survey(order_id) is None
    # A score chosen and a comment refused: the page names the comment (probe 172: it
    # said "pick a score").
    for comment in ("x" * 1001, "al revés \u202e"):
        refused = _post(client, path, {"csrf": csrf, "score": "4", "comment": comment})
        assert _outcome(client, path, refused) == (
            "invalid_comment",
            "Revisa tu comentario: hasta 1000 caracteres, sin caracteres de control.",
        )
    assert deps.surveys.survey(order_id) is None

    answered = _post(client, path, {"csrf": csrf, "score": "4", "comment": "Rápido"})
    assert _outcome(client, path, answered) == ("done", "¡Gracias por tu opinión!")
    kept = deps.surveys.survey(order_id)
    assert kept is not None and (kept.score, kept.comment) == (4, "Rápido")
    again = _post(client, path, {"csrf": csrf, "score": "1"})
    assert _outcome(client, path, again) == ("answered", "Ya nos diste tu opinión.")
    assert deps.surveys.survey(order_id).score == 4


def test_from_an_address_ending_in_a_slash_the_survey_posts_to_its_route(
    client: Any, deps: Any
) -> None:
    # A probe: from ``/surveys/<token>/`` the relative action posted to
    # ``/surveys/<token>/<token>/form`` and got 404.
    delivered = _delivered(client)
    path, order_id = delivered["path"], delivered["placed"]["order_id"]
    html = _page(client, f"{path}/")

    target = form_target(html, "survey", f"{path}/")
    assert target == f"{path}/form"
    answered = client.http.post(
        target, headers=FORM, body=urlencode({"csrf": _csrf(html), "score": "5"})
    )

    assert _outcome(client, path, answered)[0] == "done"
    assert deps.surveys.survey(order_id).score == 5


def test_an_order_not_yet_delivered_is_told_to_wait(client: Any, deps: Any) -> None:
    body = order_body()
    body["customer"]["locale"] = "en"
    placed = place_order(client, body)
    wait_for_status(client, placed["order_id"], "SHIPPED")
    path = urlparse(survey_url(placed["order_id"], deps)).path
    # Not open for answers: the page offers no form.
    assert 'name="csrf"' not in _page(client, path)

    # A form posted anyway (an old page, say) is told, in the order's language.
    csrf = form_token(path.rsplit("/", 1)[1], deps.secrets.tracking_keys())
    response = _post(client, path, {"csrf": csrf, "score": "5"})
    assert _outcome(client, path, response) == (
        "closed",
        "You can rate it once it has been delivered.",
    )
    assert deps.surveys.survey(placed["order_id"]) is None


def test_the_score_group_is_named_by_its_question_and_the_order_id_is_one_word(
    client: Any,
) -> None:
    # Probe 185: the radios' fieldset had no legend (a screen reader read "1, radio
    # button"), and the id in the heading broke as "…773a1 / 8?" on a phone.
    for locale, question in (
        ("es", "¿Qué tal fue? Del 1 (muy mal) al 5 (muy bien):"),
        ("en", "How was it? From 1 (very bad) to 5 (very good):"),
    ):
        body = order_body()
        body["customer"]["locale"] = locale
        delivered = _delivered(client, body)
        html = _page(client, delivered["path"])

        group = re.search(r"<fieldset>\s*<legend>([^<]*)</legend>(.*?)</fieldset>", html, re.S)
        assert group, html
        assert unescape(group.group(1)) == question
        assert group.group(2).count('type="radio" name="score"') == 5
        order_id = delivered["placed"]["order_id"]
        assert re.search(rf'<h1>[^<]* <span class="order-id">{order_id}\?</span></h1>', html)
        assert re.search(r"h1 \.order-id \{[^}]*white-space: nowrap", html)


def test_a_survey_posted_after_its_link_was_revoked_gets_the_dead_link_page(
    client: Any, deps: Any
) -> None:
    # Probe 203: the order page's forms answered a revoked link with the bilingual page,
    # the survey's form with a JSON problem document a browser shows as text.
    delivered = _delivered(client)
    path, order_id = delivered["path"], delivered["placed"]["order_id"]
    csrf = _csrf(_page(client, path))
    revoked = client.http.post(
        f"/ops/orders/{order_id}/tracking-token/revoke",
        headers={"Authorization": "Bearer demo-ops"},
    )
    assert revoked.status_code == 200, revoked.body

    response = _post(client, path, {"score": "5", "csrf": csrf}, **HTML)

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Este enlace ya no es válido" in response.body.decode()
    assert deps.surveys.survey(order_id) is None
    # A client that asks for no page still gets the problem document.
    assert_problem(_post(client, path, {"score": "5", "csrf": csrf}), 404, "token")
