"""How the local stack runs the app's Lambda functions in its process: each invocation in a
context of its own (infra/local/lambda_adaptations.py), and at most a few at once
(infra/local/background.py), so that the API's threads keep the CPU; nested invocations
use their caller's slot."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import boto3
import pytest

from infra.local.background import InvocationSlots, slots
from infra.local.lambda_adaptations import InProcessLambdas
from infra.local.stack import REGION


def test_invocation_slots_let_no_more_than_their_size_run_at_once() -> None:
    bounded = InvocationSlots(2)
    inside = threading.Semaphore(0)
    release = threading.Event()
    finished: list[int] = []

    def invocation(index: int) -> None:
        with bounded.held():
            inside.release()
            release.wait(timeout=30)
            finished.append(index)

    workers = [threading.Thread(target=invocation, args=(i,)) for i in range(6)]
    for worker in workers:
        worker.start()
    for _ in range(2):
        assert inside.acquire(timeout=30)
    # Two are in; the other four are queued for a slot.
    assert not inside.acquire(timeout=0.2)
    assert bounded.running == 2
    release.set()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(finished) == list(range(6))
    assert bounded.peak == 2 and bounded.running == 0


def test_invocation_slots_let_an_invocation_made_inside_another_use_its_slot() -> None:
    bounded = InvocationSlots(1)
    ran: list[str] = []

    def invocation() -> None:
        with bounded.held():
            with bounded.held():  # would wait for its own slot forever without re-entry
                ran.append("inner")
            ran.append("outer")

    worker = threading.Thread(target=invocation, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert ran == ["inner", "outer"] and bounded.running == 0


def test_the_stacks_sns_deliveries_run_no_more_than_the_slots_at_once(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    running: list[int] = [0]
    most: list[int] = [0]
    count_lock = threading.Lock()
    release = threading.Event()
    delivered: list[str] = []

    def probe(event: dict[str, Any], context: Any) -> None:
        with count_lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(timeout=30)
        with count_lock:
            running[0] -= 1
            delivered.append(event["Records"][0]["Sns"]["Message"])

    monkeypatch.setitem(stack.lambdas.handlers, "probe_slots", probe)
    messages = [uuid.uuid4().hex for _ in range(6)]  # fewer than the delivery pool's 8
    for message in messages:
        stack.lambdas.deliver_sns("orquesta-local-probe_slots", message, None)
    threading.Event().wait(0.5)  # give every delivery the chance to start
    release.set()
    stack.lambdas.drain()
    assert sorted(delivered) == sorted(messages)
    assert 1 <= most[0] <= slots.size < len(messages)


def test_in_process_lambdas_run_each_invocation_without_its_callers_context(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextvars

    from botocore.context import get_context

    callers_var: contextvars.ContextVar[str] = contextvars.ContextVar("callers_var")
    seen: list[tuple[Any, str]] = []

    def probe(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((get_context(), callers_var.get("unset")))
        return {}

    monkeypatch.setitem(stack.lambdas.handlers, "probe_context", probe)
    callers_var.set("the caller's")
    # Invoked from inside a botocore call, as the interpreter invokes every step.
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="orquesta-local-probe_context", Payload=b"{}"
    )
    assert seen == [(None, "unset")]


def test_invocation_slots_let_a_waited_for_step_in_before_queued_deliveries() -> None:
    bounded = InvocationSlots(1)
    release = threading.Event()
    started: list[str] = []

    def invocation(name: str, urgent: bool) -> None:
        with bounded.held(urgent=urgent):
            started.append(name)
            if name == "first":
                release.wait(timeout=30)

    first = threading.Thread(target=invocation, args=("first", False))
    first.start()
    while bounded.running == 0:
        threading.Event().wait(0.01)
    later = [
        threading.Thread(target=invocation, args=(name, urgent))
        for name, urgent in (("delivery", False), ("step", True))
    ]
    for thread in later:
        thread.start()
        while len(bounded._waiting) < later.index(thread) + 1:  # queued before the next
            threading.Event().wait(0.01)
    release.set()
    for thread in [first, *later]:
        thread.join(timeout=30)
    assert started == ["first", "step", "delivery"]


def test_drain_waits_for_its_deliveries_and_theirs_while_others_keep_arriving() -> None:
    """A shared stack never goes quiet: the scheduler's sweeps and other tests' orders keep
    queuing deliveries. ``drain`` waits for what was queued when it was called and what
    that queued in turn, and returns; a drain that waited for an empty queue timed out."""
    lambdas: InProcessLambdas
    chain: list[int] = []
    others = threading.Event()

    def chained(event: dict[str, Any], context: Any) -> None:
        time.sleep(0.02)  # the next link is queued while this one still runs
        chain.append(event["depth"])
        if event["depth"] > 0:
            lambdas.deliver_event("chained", {"depth": event["depth"] - 1})

    def unrelated(event: dict[str, Any], context: Any) -> None:
        time.sleep(0.05)

    lambdas = InProcessLambdas({"chained": chained, "unrelated": unrelated}, prefix="")

    def keep_queuing_unrelated() -> None:
        while not others.is_set():
            lambdas.deliver_event("unrelated", {})
            time.sleep(0.01)

    stream = threading.Thread(target=keep_queuing_unrelated, daemon=True)
    stream.start()
    try:
        lambdas.deliver_event("chained", {"depth": 3})
        lambdas.drain(timeout=60)
        assert chain == [3, 2, 1, 0]  # every link, though queued after the call
    finally:
        others.set()
        stream.join(timeout=30)
    lambdas.drain(timeout=60, everything=True)
    with lambdas._pending_lock:
        assert lambdas._pending == {}
    lambdas.shutdown()


def test_drain_waits_for_a_grandchild_whose_parent_ended_before_it_looked_again() -> None:
    """A rare failure under load: the child ran and ended (forgotten) while ``drain`` still
    waited on the first delivery, and the grandchild it had queued was not waited for."""
    lambdas: InProcessLambdas
    child_done = threading.Event()
    told: list[str] = []

    def first(event: dict[str, Any], context: Any) -> None:
        lambdas.deliver_event("child", {})
        assert child_done.wait(timeout=30)
        time.sleep(0.1)  # the child is forgotten before this delivery ends

    def child(event: dict[str, Any], context: Any) -> None:
        lambdas.deliver_event("grandchild", {})
        child_done.set()

    def grandchild(event: dict[str, Any], context: Any) -> None:
        time.sleep(0.5)
        told.append("grandchild")

    lambdas = InProcessLambdas(
        {"first": first, "child": child, "grandchild": grandchild}, prefix=""
    )
    lambdas.deliver_event("first", {})

    lambdas.drain(timeout=60)

    assert told == ["grandchild"]
    lambdas.shutdown()
