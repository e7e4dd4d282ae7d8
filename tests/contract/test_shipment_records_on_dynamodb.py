"""The shipment-record scenarios of tests/service/test_shipment_records.py (a crash
between a record and its order's write, then the retry or the SLA check), run here on
both backends of the contract suite: the services on fakes, the order store on the fake
and on the DynamoDB repositories (moto), so the conditional puts, the sparse
open-shipments index and the carrier index are the table's own."""

from __future__ import annotations

from tests.service.test_shipment_records import *  # noqa: F403 - the same scenarios
