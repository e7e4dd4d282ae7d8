"""The bench's load on the embedded stack: its baseline route, its HTTP clients, its waits.

``bench_stack_class`` is the local stack with ``POST /bench/baseline`` (one conditional
``PutItem`` through the app's own DynamoDB client) added for this process only. ``drive``
runs jobs (web orders, baseline requests, carriers' signed webhooks) from T threads, one
``requests.Session`` each; ``Prober`` calls the baseline while orders run. ``wait_until``,
``settle`` and ``drain`` wait for the workflow and the SNS deliveries; ``counters`` reads
every meter.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench import meters

BASELINE_PATH = "/bench/baseline"
ORDERS_ROUTE = "POST /orders"
WEBHOOK_ROUTE = "POST /carriers/{carrier}/events"

SKUS = [
    "TSHIRT-BLK-M",
    "TSHIRT-BLK-L",
    "TSHIRT-WHT-M",
    "TSHIRT-WHT-L",
    "JEANS-32",
    "JEANS-34",
    "HOODIE-GRY-M",
    "HOODIE-GRY-L",
    "JACKET-DEN",
    "COAT-WOOL",
    "SNEAKER-40",
    "SNEAKER-42",
    "SNEAKER-44",
    "BOOT-41",
    "BOOT-43",
    "SOCKS-3P",
    "BELT-LEA",
    "CAP-NAVY",
    "SCARF-WOOL",
    "BAG-TOTE",
    "BACKPACK-20",
    "WALLET-LEA",
    "SUNGLASS-01",
    "WATCH-STEEL",
    "DRESS-SUM",
    "SKIRT-MIDI",
    "SHIRT-OXF-M",
    "SHIRT-OXF-L",
    "SWEATER-CRW",
    "UMBRELLA",
]


# The stack, with the bench's baseline route ----------------------------------------------
def add_baseline_route(chalice_app: Any) -> None:
    """``POST /bench/baseline``: one conditional put through the app's DynamoDB client.
    Registered on the app object in this process only; the product app has no such route."""
    if any(path == BASELINE_PATH for path in chalice_app.routes):
        return
    from chalicelib.composition import deps

    @chalice_app.route(BASELINE_PATH, methods=["POST"], content_types=["*/*"])
    def bench_baseline() -> dict[str, Any]:
        app_deps = deps()
        app_deps.store.table.client.put_item(
            TableName=app_deps.settings.table_name,
            Item={"pk": {"S": f"BENCH#{uuid.uuid4().hex}"}, "sk": {"S": "BENCH"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return {"ok": True}


def bench_stack_class() -> type:
    """``LocalStack`` that adds the baseline route after importing the app and before
    serving it (Chalice's local gateway reads ``app.routes`` when it is created)."""
    from infra.local.stack import LocalStack

    class BenchStack(LocalStack):
        def _serve(self, chalice_app: Any) -> None:
            add_baseline_route(chalice_app)
            super()._serve(chalice_app)

    return BenchStack


def quiet() -> None:
    """No per-request log lines from the dev server, no INFO lines from the app."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_message = lambda self, *args: None  # type: ignore[method-assign]


# HTTP load ---------------------------------------------------------------------------------
@dataclass
class Call:
    """One HTTP request the bench made."""

    route: str
    status: int
    seconds: float
    started: float
    body: dict[str, Any] = field(default_factory=dict)


def drive(
    url: str,
    jobs: list[Callable[[Any, str], Call]],
    threads: int,
) -> list[Call]:
    """Run ``jobs`` from ``threads`` workers, each with its own ``requests.Session``."""
    import requests

    local = threading.local()
    sessions: list[Any] = []
    sessions_lock = threading.Lock()

    def session() -> Any:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            with sessions_lock:
                sessions.append(local.session)
        return local.session

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-client") as pool:
        calls = list(pool.map(lambda job: job(session(), url), jobs))
    for each in sessions:
        each.close()
    return calls


def timed_post(
    session: Any, url: str, route: str, path: str, data: bytes, headers: dict[str, str]
) -> Call:
    """POST and time it; the body is parsed when it is JSON."""
    started = time.perf_counter()
    response = session.post(url + path, data=data, headers=headers, timeout=60)
    seconds = time.perf_counter() - started
    meters.add(f"api.{route}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    parsed = body if isinstance(body, dict) else {}
    return Call(route, response.status_code, seconds, started, parsed)


def web_order(index: int) -> dict[str, Any]:
    """A web order with two lines (two SKUs, one unit each), shipped within Spain: one
    fulfillment from the warehouse, carrier ``rapido``, a new customer every time."""
    from tests.support import order_body

    first, second = SKUS[index % len(SKUS)], SKUS[(index * 7 + 3) % len(SKUS)]
    if first == second:
        second = SKUS[(index + 1) % len(SKUS)]
    return order_body(
        lines=[
            {"sku": first, "quantity": 1, "fulfillment": "ship"},
            {"sku": second, "quantity": 1, "fulfillment": "ship"},
        ]
    )


def order_job(index: int) -> Callable[[Any, str], Call]:
    """POST /orders with a fresh Idempotency-Key."""
    from tests.support import JSON, STOREFRONT, idempotency_key

    data = json.dumps(web_order(index)).encode()
    headers = STOREFRONT | JSON | idempotency_key()
    return lambda session, url: timed_post(session, url, ORDERS_ROUTE, "/orders", data, headers)


def baseline_job(index: int) -> Callable[[Any, str], Call]:
    """POST /bench/baseline with the same body and headers an order sends."""
    from tests.support import JSON, STOREFRONT, idempotency_key

    data = json.dumps(web_order(index)).encode()
    headers = STOREFRONT | JSON | idempotency_key()
    return lambda session, url: timed_post(
        session, url, f"POST {BASELINE_PATH}", BASELINE_PATH, data, headers
    )


def webhook_job(carrier: str, tracking_number: str) -> Callable[[Any, str], Call]:
    """The carrier's signed ``delivered`` event (signed when sent: 300 s tolerance)."""
    from tests.support import signed_event

    def job(session: Any, url: str) -> Call:
        data, headers = signed_event(tracking_number)
        return timed_post(session, url, WEBHOOK_ROUTE, f"/carriers/{carrier}/events", data, headers)

    return job


class Prober:
    """One extra client calling the baseline every ``every`` seconds while orders run, to
    show how much of the orders' latency is the load around them rather than the route."""

    def __init__(self, url: str, every: float = 0.05) -> None:
        self.url = url
        self.every = every
        self.calls: list[Call] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-probe", daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        import requests

        with requests.Session() as session:
            index = 0
            while not self._stop.wait(self.every):
                self.calls.append(baseline_job(index)(session, self.url))
                index += 1


# Waiting -----------------------------------------------------------------------------------
def wait_until(probe: Callable[[], bool], timeout: float, every: float = 0.02) -> bool:
    """Poll ``probe`` until it is true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(every)
    return probe()


def wait_for_return_waits(order_ids: list[str], timeout: float) -> bool:
    """Wait until each order's execution has parked its return window's wait (read
    unmetered); False if some had not after ``timeout``."""
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.composition import deps

    table = deps().store.table

    def parked() -> bool:
        with meters.unmetered():
            return all(table.get(keys.return_wait(i)) is not None for i in order_ids)

    return wait_until(parked, timeout, every=0.25)


def end_return_windows(sfn: Any, order_ids: list[str]) -> None:
    """End these orders' return windows as a real one ends, unmetered: the wait ends with
    nothing written, and the execution goes on to OrderClosed (on AWS, through the
    timeout's catch; here the wait is told it succeeded, which enters the same state)."""
    from chalicelib.composition import deps

    store = deps().store
    for order_id in order_ids:
        with meters.unmetered():
            token = store.return_wait(order_id)
        if token is not None:
            sfn.send_task_success(taskToken=token, output=json.dumps({"window": "ended"}))


def invocations(stack: Any, name: str) -> int:
    """How often the stack has invoked one Lambda handler."""
    return int(stack.lambdas.invocations.get(name, 0))


def settle(stack: Any, parked_before: int, parked: int, timeout: float) -> bool:
    """Wait until ``parked`` more executions have parked their delivery token, then for
    every queued SNS delivery."""
    ok = wait_until(
        lambda: invocations(stack, "dispatch_fulfillment") >= parked_before + parked, timeout
    )
    return drain(stack, timeout) and ok


def drain(stack: Any, timeout: float) -> bool:
    """Wait for queued SNS deliveries; False if some were still queued after ``timeout``."""
    from concurrent.futures import TimeoutError as FutureTimeout

    try:
        stack.lambdas.drain(timeout=timeout, everything=True)
    except FutureTimeout:
        return False
    return True


def counters(stack: Any) -> dict[str, float]:
    """Every meter, plus the stack's Lambda invocations, now."""
    values = meters.snapshot()
    for name, count in dict(stack.lambdas.invocations).items():
        values[f"lambda.invocations.{name}"] = float(count)
    return values
