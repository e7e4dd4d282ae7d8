"""Probe 224 on the real order.asl.json: a two-line order whose dress the till sells
between acceptance and reservation ends ``REJECTED`` ``out_of_stock``, and everything that
tells it names the dress, not the shirts that were there: the history detail (ops and
``GET /orders/{id}``), the rejection email (subject, text and HTML, with the back-in-stock
notice it promises), the tracking page (HTML in the order's language, its JSON with the
codes); then the notice itself claims no promise it cannot know was made."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from chalicelib.services.tracking import tracking_url
from tests.support import OPS, order_body
from tests.support.catalogue import fresh_sku
from tests.support.flow import emails_to, parts_of, place_then_sell_out, receive_at_warehouse
from tests.support.inbox import expect_emails
from tests.support.orders import wait_for_status


def test_an_order_short_of_one_product_is_told_which_everywhere(
    client: Any, deps: Any, stack: Any
) -> None:
    shirt = fresh_sku(deps, {"WH-GETAFE": 5}, price="35.00")
    dress = fresh_sku(deps, {"ST-MADRID": 1}, price="39.95")
    dress_name, shirt_name = f"Test {dress}", f"Test {shirt}"
    body = order_body(
        lines=[
            {"sku": shirt, "quantity": 2, "fulfillment": "ship"},
            {"sku": dress, "quantity": 1, "fulfillment": "ship"},
        ]
    )
    body["customer"]["locale"] = "es"
    address = body["customer"]["email"]
    order_id = place_then_sell_out(deps, body, dress)

    rejected = wait_for_status(deps, order_id, "REJECTED")
    detail = f"not enough stock of {dress}; nothing charged"
    assert rejected.status_reason is not None and rejected.status_reason.value == "out_of_stock"
    assert rejected.history[-1].detail == detail
    read = client.http.get(f"/orders/{order_id}", headers=OPS)
    assert read.json_body["status_reason"] == "out_of_stock"
    assert read.json_body["history"][-1]["detail"] == detail

    inbox = expect_emails(stack, deps, address, order_id, "es", {"rejected": 1})
    (mail,) = inbox["rejected"]
    subject = str(mail["Subject"]).replace("\n", "").replace("  ", " ")
    assert (
        subject
        == f"No hemos podido completar tu pedido {order_id}: sin existencias de {dress_name}"
    )
    parts = parts_of(mail)
    text, html = parts["text/plain"], parts["text/html"]
    said = f"No hemos podido completar tu pedido (sin existencias suficientes de {dress_name})."
    told_why = text.split("\n\n")[1]  # after the greeting
    assert told_why.startswith(said) and shirt_name not in told_why
    assert "No se te ha cobrado nada" in text
    assert f"Te avisaremos por correo cuando vuelva a haber {dress_name}" in text
    assert "Si aún quieres el resto de artículos, puedes pedirlos en un pedido nuevo." in text
    assert f"sin existencias suficientes de {dress_name}" in html
    assert f"Te avisaremos por correo cuando vuelva a haber {dress_name}" in html

    page = client.http.get(urlparse(tracking_url(order_id, deps)).path)
    shown = page.body.decode()
    assert 'data-reason="out_of_stock"' in shown
    assert shown.count(f"Sin existencias suficientes de {dress_name}") == 2  # top, progress
    as_json = client.http.get(
        urlparse(tracking_url(order_id, deps)).path, headers={"Accept": "application/json"}
    ).json_body
    assert as_json["status_reason"] == "out_of_stock"
    assert as_json["timeline"][-1]["detail"] == detail

    # The wish the email promised is the dress's alone; its notice goes when it is back.
    stack.lambdas.drain()
    receive_at_warehouse(client, dress, 2)
    stack.lambdas.drain()
    (notice,) = [m for m in emails_to(address) if "Ya vuelve a estar disponible" in m["Subject"]]
    told = parts_of(notice)["text/plain"]
    assert f"No pudimos venderte {dress_name} ({dress}) por falta de existencias" in told
    assert "te dijimos" not in told
