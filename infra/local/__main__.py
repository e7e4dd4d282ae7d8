"""``make run``: the local stack with demo data until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from infra.local.provision import ROOT
from infra.local.stack import LocalStack

MOTO_LOG_CHARS = 300


def shorten_moto_records(record: logging.LogRecord) -> bool:
    """moto's ASL interpreter logs the repr of a whole state machine with each error (tens
    of kilobytes): keep the line a person can read."""
    if record.name.startswith("moto.stepfunctions"):
        message = record.getMessage()
        if len(message) > MOTO_LOG_CHARS:
            record.msg, record.args = message[:MOTO_LOG_CHARS] + " …", None
    return True


def main() -> None:
    """Start, print what a newcomer needs, serve until interrupted."""
    parser = argparse.ArgumentParser(description="Orquesta's embedded local stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument(
        "--outbox",
        type=Path,
        default=ROOT / "var" / "outbox",
        help="directory every email is written to as .eml (default: var/outbox)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(shorten_moto_records)
    stack = LocalStack(port=args.port, moto_port=args.moto_port, outbox=args.outbox)
    try:
        stack.start()
    except Exception as exc:  # noqa: BLE001 - say why, clean up, exit non-zero
        print(f"the local stack could not start: {exc}", file=sys.stderr, flush=True)
        stack.stop()
        os._exit(1)  # moto's server threads may not be daemons: do not wait for them
    keys = {"storefront": "demo-storefront", "store": "demo-store", "ops": "demo-ops"}
    print(
        f"""
Orquesta local stack is up (moto, in one process; Ctrl-C stops it).

  API            {stack.url}
  OpenAPI        {stack.url}/openapi.json
  Health         {stack.url}/health
  Ops console    {stack.url}/ops  (sign in with the ops key)
  AWS (moto)     http://localhost:{args.moto_port}  (aws --endpoint-url ... stepfunctions list-executions)
  Outbox         {stack.outbox}  (every email as .eml, every SMS as .sms.txt)
  Time scale     ORQUESTA_TIME_SCALE={os.environ.get("ORQUESTA_TIME_SCALE", "1")}

  Keys           storefront: {keys["storefront"]}   store: {keys["store"]}   ops: {keys["ops"]}
                 another storefront client: demo-storefront-2
                 a store key bound to ST-MADRID: demo-store-madrid
  Carrier secret demo-carrier-secret  (carriers: rapido, veloz, tortuga)
  Coupon         BIENVENIDA10  (10 %, once per customer, campaign "newsletter"; add
                 "coupon": "BIENVENIDA10" to a quote or an order)

Place an order:

  curl -s -X POST {stack.url}/orders \\
    -H 'Authorization: Bearer demo-storefront' -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(date +%s%N)" \\
    -d '{{"channel": "web", "customer": {{"email": "ana@example.com", "name": "Ana", "locale": "es"}},
         "lines": [{{"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"}}],
         "shipping_address": {{"name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid",
                               "postal_code": "28013", "country": "ES"}},
         "payment": {{"method": "card", "token": "tok_visa"}},
         "consent": {{"terms_version": "2026-01", "privacy_version": "2026-01", "accepted": true}}}}'

Then: curl -s {stack.url}/orders/<order_id> -H 'Authorization: Bearer demo-storefront'
""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    # Wake up now and then: Python runs signal handlers in the main thread only, and a
    # signal the kernel hands to another thread does not interrupt an untimed wait, so
    # ``stopped.wait()`` alone could sleep through SIGTERM for ever.
    while not stopped.wait(timeout=0.5):
        pass
    print("stopping…", flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
