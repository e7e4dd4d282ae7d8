"""infra/local/speedups.cheap_request_ids: moto's request ids drawn in one call, and the
XML element that carries them still filled in."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import boto3
import pytest

from infra.local.stack import REGION


def test_cheap_request_ids_draw_no_character_at_a_time(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.moto_api._internal.moto_random import MotoRandom

    drawn: list[int] = []
    me = threading.get_ident()
    choice = MotoRandom.choice

    def counting(self: Any, seq: Any) -> Any:
        if threading.get_ident() == me:
            drawn.append(1)
        return choice(self, seq)

    monkeypatch.setattr(MotoRandom, "choice", counting)
    put = deps.store.table.client.put_item(
        TableName=deps.settings.table_name,
        Item={"pk": {"S": f"T-RID#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}},
    )
    topics = boto3.client("sns", region_name=REGION).list_topics()

    assert drawn == []
    for answer in (put, topics):
        request_id = answer["ResponseMetadata"]["RequestId"]
        assert re.fullmatch(r"[A-Za-z0-9]{52}", request_id)
        assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id
