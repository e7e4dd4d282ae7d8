"""The return window's wait scenarios of tests/service/test_return_wait.py on both backends
of the contract suite (the services on fakes around the fake order store, then around the
DynamoDB repositories on moto)."""

from __future__ import annotations

from tests.service.test_return_wait import *  # noqa: F403 - the same scenarios
