"""Each Lambda handler's run with nothing else running, for the bench's GB-s.

Lambda bills a handler's run, and on AWS each concurrent invocation has its own CPU. In
the bench's one process, a handler timed under load also holds the time it waits for the
GIL and the table locks behind the other requests: on 2 cores with 8 clients that is most
of its run (an upper bound). Its thread's CPU time leaves out the time spent in AWS calls
(a lower bound). So a few orders are run one at a time, placed, shipped, delivered and
closed, and each handler is timed then: its own work and its calls to the in-process AWS
services, with nothing else queued. (A Lambda of 1024 MB has about 0.6 of a vCPU, so its
CPU-bound part runs slower than here; real AWS calls take milliseconds each. Both are
left as measured: the figure is printed next to the bounds.)
"""

from __future__ import annotations

from typing import Any

from bench import meters

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def measure(stack: Any, count: int = 3, first_index: int = 30_000) -> dict[str, Any]:
    """Mean seconds per invocation, by handler (Lambda steps and subscribers by name, API
    handlers by route), over ``count`` orders run to their end one at a time."""
    import boto3

    from bench import run as bench
    from chalicelib.composition import deps
    from infra.local.stack import REGION

    sfn = boto3.client("stepfunctions", region_name=REGION)
    before = bench.counters(stack)
    done = 0
    for index in range(first_index, first_index + count):
        parked = bench.invocations(stack, "dispatch_fulfillment")
        (placed,) = bench.drive(stack.url, [bench.order_job(index)], 1)
        order_id, arn = placed.body.get("order_id"), placed.body.get("execution_arn")
        if placed.status != 202 or not order_id or not arn:
            continue
        if not bench.wait_until(lambda oid=order_id: meters.seen("SHIPPED", oid), 60):
            continue
        bench.settle(stack, parked, 1, timeout=60)
        shipment = deps().store.get_order(str(order_id)).fulfillments[0].shipment
        if shipment is None:
            continue
        bench.drive(stack.url, [bench.webhook_job(shipment.carrier, shipment.tracking_number)], 1)
        bench.wait_until(
            lambda a=arn: sfn.describe_execution(executionArn=a)["status"] in TERMINAL,
            60,
            every=0.1,
        )
        bench.drain(stack, 30)
        done += 1
    spent = meters.delta(bench.counters(stack), before)
    return {"orders": done, "mean_seconds": mean_seconds(spent)}


def mean_seconds(spent: dict[str, float]) -> dict[str, float]:
    """Seconds per invocation by handler, from counter differences: ``lambda.seconds.X``
    over ``lambda.invocations.X``, ``lambda.api_seconds.R`` over ``api.R``."""
    means: dict[str, float] = {}
    for seconds_prefix, count_prefix in (
        ("lambda.seconds.", "lambda.invocations."),
        ("lambda.api_seconds.", "api."),
    ):
        for key, seconds in spent.items():
            if key.startswith(seconds_prefix):
                name = key[len(seconds_prefix) :]
                count = spent.get(count_prefix + name, 0.0)
                if count:
                    means[name] = seconds / count
    return means
