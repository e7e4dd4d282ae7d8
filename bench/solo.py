"""Each Lambda handler's run with nothing else running, for the bench's GB-s.

Lambda bills a handler's run, and on AWS each concurrent invocation has its own CPU. In
the bench's one process, a handler timed under load also holds the time it waits for the
GIL and the table locks behind the other requests: on 2 cores with 8 clients that is most
of its run (an upper bound). Its thread's CPU time leaves out the time spent in AWS calls
(a lower bound). So a few orders are run one at a time, placed, shipped, delivered and
closed, and each handler's median run then is taken: its own work and its calls to the
in-process AWS services, with nothing else of this process queued. (A Lambda of 1024 MB
has about 0.6 of a vCPU, so its CPU-bound part runs slower than here; real AWS calls take
milliseconds each. Both are left as measured: the figure is printed next to the bounds.)
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import load, meters

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def measure(stack: Any, count: int = 5, first_index: int = 30_000) -> dict[str, Any]:
    """Seconds per run, by handler (Lambda steps and subscribers by name, API handlers by
    route): the median of its runs over ``count`` orders run to their end one at a time.
    The median, not the mean: the machine is shared, and a run that another process
    slowed down says nothing about the handler."""
    import boto3

    from chalicelib.composition import deps
    from infra.local.stack import REGION

    sfn = boto3.client("stepfunctions", region_name=REGION)
    marks = meters.run_marks()
    done = 0
    for index in range(first_index, first_index + count):
        parked = load.invocations(stack, "dispatch_fulfillment")
        (placed,) = load.drive(stack.url, [load.order_job(index)], 1)
        order_id, arn = placed.body.get("order_id"), placed.body.get("execution_arn")
        if placed.status != 202 or not order_id or not arn:
            continue
        if not load.wait_until(lambda oid=order_id: meters.seen("SHIPPED", oid), 60):
            continue
        load.settle(stack, parked, 1, timeout=60)
        shipment = deps().store.get_order(str(order_id)).fulfillments[0].shipment
        if shipment is None:
            continue
        load.drive(stack.url, [load.webhook_job(shipment.carrier, shipment.tracking_number)], 1)
        load.wait_for_return_waits([str(order_id)], 60)
        load.end_return_windows(sfn, [str(order_id)])
        load.wait_until(
            lambda a=arn: sfn.describe_execution(executionArn=a)["status"] in TERMINAL,
            60,
            every=0.1,
        )
        load.drain(stack, 30)
        done += 1
    return {"orders": done, "median_seconds": median_seconds(meters.runs_since(marks))}


def median_seconds(runs: dict[str, list[float]]) -> dict[str, float]:
    """Each handler's median run, for those that ran."""
    return {name: statistics.median(seconds) for name, seconds in runs.items() if seconds}
