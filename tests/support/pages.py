"""The customer's page rendered without the HTTP layer, for tests of what it shows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlparse

from chalicelib.domain.catalog import Location
from chalicelib.domain.customer_actions import available_actions, facts_of
from chalicelib.domain.orders import Order
from chalicelib.presentation.track_forms import FormNotice
from chalicelib.presentation.tracking_page import tracking_page
from chalicelib.rendering import render

# What api/tracking.py passes for the page's forms, with fixed values.
FORMS = {"base": "v1.k1.0.ord_1.sig/forms", "csrf": "k1.c5rf", "key": "k3y"}


def tracking_html(
    order: Order,
    now: datetime,
    location_names: dict[str, str] | None = None,
    pickup_stores: dict[str, str] | None = None,
    postal_codes: dict[str, str] | None = None,
    notice: FormNotice | None = None,
    locations: Sequence[Location] = (),
) -> str:
    """``tracking.html.j2`` for ``order`` as its customer sees it at ``now``."""
    actions = available_actions(facts_of(order), now)
    view: dict[str, Any] = tracking_page(
        order, actions, location_names or {}, now, pickup_stores or {}, postal_codes, locations
    )
    return render(
        "tracking.html.j2",
        view=view,
        nonce="n0nce",
        script="",
        forms=FORMS,
        notice=notice,
        field_words={},
        survey_url=None,
        rated_score=None,
    )


def form_target(html: str, form_id: str, address: str) -> str:
    """The path a browser posts the form ``form_id`` of a page read at ``address`` to:
    its action resolved against the address, as a browser resolves a relative one."""
    form = re.search(rf'id="{form_id}" method="post" action="([^"]+)"', html)
    assert form, f"no #{form_id} form on the page"
    return urlparse(urljoin(f"http://shop.test{address}", unescape(form.group(1)))).path
