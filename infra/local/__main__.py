"""``make run``: the local stack with demo data until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from chalicelib.config import ApiKey
from infra.local.provision import ROOT
from infra.local.stack import LocalStack

MOTO_LOG_CHARS = 300
ROLE_ORDER = {"storefront": 0, "store": 1, "ops": 2}


def shorten_moto_records(record: logging.LogRecord) -> bool:
    """moto's ASL interpreter logs the repr of a whole state machine with each error (tens
    of kilobytes): keep the line a person can read."""
    if record.name.startswith("moto.stepfunctions"):
        message = record.getMessage()
        if len(message) > MOTO_LOG_CHARS:
            record.msg, record.args = message[:MOTO_LOG_CHARS] + " …", None
    return True


def key_lines(keys: Mapping[str, ApiKey]) -> list[str]:
    """One line per bearer key in effect, by role: the key, the client it acts for (its
    own without a ``client_id``) and the store a store key is bound to."""
    lines = []
    for key, what in sorted(keys.items(), key=lambda item: (ROLE_ORDER[item[1].role], item[0])):
        parts = [f"{what.role + ':':<11} {key}"]
        parts.append(f"client_id {what.client_id}" if what.client_id else "(its own client)")
        if what.location_id:
            parts.append(f"location_id {what.location_id}")
        elif what.role == "store":
            parts.append("(every store)")
        lines.append("  ".join(parts))
    return lines


def banner(stack: LocalStack, moto_port: int, keys: Mapping[str, ApiKey]) -> str:
    """What a newcomer needs, with the keys actually in effect (``ORQUESTA_API_KEYS``
    replaces the demo ones)."""
    storefront = next(
        (key for key, what in sorted(keys.items()) if what.role == "storefront"),
        "<a storefront key>",
    )
    listed = ("\n" + " " * 17).join(key_lines(keys)) or "none (set ORQUESTA_API_KEYS)"
    return f"""
Orquesta local stack is up (moto, in one process; Ctrl-C stops it).

  API            {stack.url}
  OpenAPI        {stack.url}/openapi.json
  Health         {stack.url}/health
  Ops console    {stack.url}/ops  (sign in with the ops key)
  AWS (moto)     http://localhost:{moto_port}  (aws --endpoint-url ... stepfunctions list-executions)
  Outbox         {stack.outbox}  (every email as .eml, every SMS as .sms.txt)
  Time scale     ORQUESTA_TIME_SCALE={os.environ.get("ORQUESTA_TIME_SCALE", "1")}

  Keys           {listed}
  Carrier secret demo-carrier-secret  (carriers: rapido, veloz, tortuga)
  Coupon         BIENVENIDA10  (10 %, once per customer, campaign "newsletter"; add
                 "coupon": "BIENVENIDA10" to a quote or an order)

Place an order:

  curl -s -X POST {stack.url}/orders \\
    -H 'Authorization: Bearer {storefront}' -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(date +%s%N)" \\
    -d '{{"channel": "web", "customer": {{"email": "ana@example.com", "name": "Ana", "locale": "es"}},
         "lines": [{{"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"}}],
         "shipping_address": {{"name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid",
                               "postal_code": "28013", "country": "ES"}},
         "payment": {{"method": "card", "token": "tok_visa"}},
         "consent": {{"terms_version": "2026-01", "privacy_version": "2026-01", "accepted": true}}}}'

Then: curl -s {stack.url}/orders/<order_id> -H 'Authorization: Bearer {storefront}'
"""


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
    from chalicelib import composition

    print(banner(stack, args.moto_port, composition.deps().secrets.api_keys()), flush=True)
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
