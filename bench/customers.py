"""Bench phase for the customer 360: its cost must not grow with the number of customers.

One customer with 500 projected orders and 50 interactions is read through
``GET /customers/{id}`` (the ops role, over HTTP on the local stack) while the table holds
few other customers, then again after 10,000 more customers (profile, identifier and an
order summary each) are stored. The figures: p50/p99 latency and, from the meters on
moto's backend, the DynamoDB requests and items one view reads. Flat reads prove the view
queries by key; the latency on moto is shown for both sizes.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import meters
from bench.order_figures import percentile
from chalicelib.domain.customers import analytics_state, contribution_of

BIG_CUSTOMER_ORDERS = 500
INTERACTIONS = 50
OTHER_CUSTOMERS = 10_000
VIEWS = 200


def _big_customer(url: str, session: Any, deps: Any) -> str:
    """A customer created over HTTP whose 500 orders go through the projector's own write."""
    from tests.support import JSON, OPS

    email = f"bench-360-{uuid.uuid4().hex[:8]}@example.com"
    response = session.post(
        f"{url}/customers", json={"email": email, "name": "Bench 360"}, headers=OPS | JSON
    )
    response.raise_for_status()
    customer_id = str(response.json()["customer_id"])
    store = deps.customers
    metrics, before = store.figures(customer_id)
    first = datetime.now(UTC) - timedelta(days=BIG_CUSTOMER_ORDERS)
    for index in range(BIG_CUSTOMER_ORDERS):
        placed = first + timedelta(days=index)
        channel = "web" if index % 3 else "store"
        new = contribution_of(
            status="DELIVERED",
            channel=channel,
            total=Decimal("49.90"),
            captured=True,
            refunded=Decimal(0),
            placed_at=placed,
        )
        metrics = metrics.apply(None, new)
        order_id = f"bench-{uuid.uuid4().hex[:12]}"
        summary = {
            "order_id": order_id,
            "channel": channel,
            "status": "DELIVERED",
            "total": {"amount": "49.90", "currency": "EUR"},
            "placed_at": placed.isoformat(),
            "contribution": new.model_dump(mode="json"),
        }
        store.project(
            customer_id, summary, 0, None, (metrics, before, analytics_state(metrics, deps.clock()))
        )
        metrics, before = store.figures(customer_id)
    for index in range(INTERACTIONS):
        store.add_interaction(
            customer_id,
            {
                "interaction_id": f"bench-{index}",
                "type": "call",
                "channel": "phone",
                "at": (first + timedelta(hours=index)).isoformat(),
                "summary": "bench call",
            },
        )
    return customer_id


def _other_customers(client: Any, table: str, count: int) -> None:
    """``count`` customers written directly: profile, identifier mirror, one order summary."""
    from chalicelib.adapters.dynamodb.table import to_item

    now = datetime.now(UTC).isoformat()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal batch
        if batch:
            client.batch_write_item(RequestItems={table: batch})
            batch = []

    for _ in range(count):
        customer_id = uuid.uuid4().hex
        pk = f"CUSTOMER#{customer_id}"
        email = f"{customer_id[:12]}@bench.example.com"
        for item in (
            {"pk": pk, "sk": "PROFILE", "state": "active", "name": "Bench"},
            {"pk": pk, "sk": f"IDENT#email#{email}", "type": "email", "value": email},
            {
                "pk": pk,
                "sk": f"ORDER#{now}#bench-{customer_id[:12]}",
                "order_id": f"bench-{customer_id[:12]}",
                "channel": "web",
                "status": "DELIVERED",
                "placed_at": now,
                "version": 1,
            },
        ):
            batch.append({"PutRequest": {"Item": to_item(item)}})
            if len(batch) == 25:
                flush()
    flush()


def _views(url: str, session: Any, customer_id: str) -> dict[str, Any]:
    from tests.support import OPS

    before = meters.snapshot()
    seconds: list[float] = []
    orders = 0
    for _ in range(VIEWS):
        started = time.perf_counter()
        response = session.get(f"{url}/customers/{customer_id}", headers=OPS, timeout=60)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        orders = len(response.json()["orders"])
    read = meters.delta(meters.snapshot(), before)

    def per_view(prefix: str) -> float:
        total = sum(value for key, value in read.items() if key.startswith(prefix))
        return round(total / VIEWS, 2)

    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "requests": per_view("ddb.read.requests."),
        "items": per_view("ddb.read.items."),
        "read_units": per_view("ddb.read.units."),
        "orders_on_first_page": orders,
    }


def run_customer_360(url: str, deps: Any) -> dict[str, Any]:
    """The 360 view of a 500-order customer, before and after 10,000 other customers."""
    import requests

    with requests.Session() as session:
        customer_id = _big_customer(url, session, deps)
        few = _views(url, session, customer_id)
        _other_customers(deps.customers.table.client, deps.settings.table_name, OTHER_CUSTOMERS)
        many = _views(url, session, customer_id)
    return {"orders": BIG_CUSTOMER_ORDERS, "few_customers": few, "customers_10000": many}
