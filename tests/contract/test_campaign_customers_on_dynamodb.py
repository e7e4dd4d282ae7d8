"""The campaign-customer scenarios of tests/service/test_campaign_customers_ended.py on
both backends of the contract suite (the services on fakes around the fake order store,
then around the DynamoDB repositories on moto): a count handed on or taken off by an
order that ended, under redelivered and reordered events and after a merge."""

from __future__ import annotations

from tests.service.test_campaign_customers_ended import *  # noqa: F403 - the same scenarios
