"""``make run``: the local stack with demo data until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from infra.local.stack import LocalStack


def main() -> None:
    """Start, print what a newcomer needs, serve until interrupted."""
    parser = argparse.ArgumentParser(description="Orquesta's embedded local stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    stack = LocalStack(port=args.port, moto_port=args.moto_port).start()
    keys = {"storefront": "demo-storefront", "store": "demo-store", "ops": "demo-ops"}
    print(
        f"""
Orquesta local stack is up (moto, in one process; Ctrl-C stops it).

  API            {stack.url}
  OpenAPI        {stack.url}/openapi.json
  Health         {stack.url}/health
  AWS (moto)     http://localhost:{args.moto_port}  (aws --endpoint-url ... stepfunctions list-executions)
  Outbox         {stack.outbox}  (every email as .eml)
  Time scale     ORQUESTA_TIME_SCALE={os.environ.get("ORQUESTA_TIME_SCALE", "1")}

  Keys           storefront: {keys["storefront"]}   store: {keys["store"]}   ops: {keys["ops"]}
  Carrier secret demo-carrier-secret  (carriers: rapido, tortuga)

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
    stopped.wait()
    print("stopping…", flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
