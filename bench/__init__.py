"""Benchmarks for Orquesta. They print figures; they never pass or fail on time.

``make bench`` runs ``python -m bench.run``: the embedded local stack in this process, a
few hundred web orders over HTTP, and what one order costs (transitions, invocations,
DynamoDB write units, emails, dollars at list prices).
"""
