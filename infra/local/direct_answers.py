"""How the short way of ``direct_calls`` reads moto's DynamoDB answers: botocore's own JSON
parser, with attribute values read without walking the AttributeValue union's model
(``DynamoDBAnswers``), and a data-plane answer handed over as the dict moto's handler made,
with no JSON text written and read back (``AnswersInProcess``). Tested with ``direct_calls``
in ``tests/integration/test_local_direct_calls.py``."""

from __future__ import annotations

import base64
import functools
from typing import Any

from botocore.parsers import JSONParser


def _attribute_value(value: Any) -> Any:
    """One DynamoDB AttributeValue as botocore's JSON parser gives it (blobs decoded, the
    rest as JSON has it), or None for anything else, which botocore's parser then reads."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((tag, inner),) = value.items()
    if inner is None:
        return None
    if tag in ("S", "N", "BOOL", "NULL"):
        return {tag: inner}
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag in ("SS", "NS"):
        return {tag: list(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(each) for each in inner]}
    if tag == "M":
        members = {name: _attribute_value(each) for name, each in inner.items()}
        return None if None in members.values() else {"M": members}
    if tag == "L":
        items = [_attribute_value(each) for each in inner]
        return None if None in items else {"L": items}
    return None


class DynamoDBAnswers(JSONParser):
    """botocore's JSON parser, with DynamoDB's items read without walking the
    AttributeValue union's model for every value (what botocore's parser spends most of
    a read's time on); what ``_attribute_value`` does not know is left to botocore."""

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue":
            known = _attribute_value(value)
            if known is not None:
                return known
        return super()._handle_structure(shape, value)  # type: ignore[misc]

    def _handle_map(self, shape: Any, value: Any) -> Any:
        if shape.value.name == "AttributeValue" and isinstance(value, dict):
            items = {name: _attribute_value(each) for name, each in value.items()}
            if None not in items.values():
                return items
        return super()._handle_map(shape, value)  # type: ignore[misc]


class _NotPlain(Exception):
    """An answer holds a value its dict form cannot be handed over as (see below)."""


def _in_process_value(value: Any) -> bool:
    """Whether ``value`` is a DynamoDB AttributeValue exactly as botocore's parser would
    give it from the JSON of it (binaries as bytes, numbers as text)."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((tag, inner),) = value.items()
    if tag in ("S", "N"):
        return type(inner) is str
    if tag in ("BOOL", "NULL"):
        return type(inner) is bool
    if tag == "B":
        return type(inner) is bytes
    if tag in ("SS", "NS"):
        return type(inner) is list and all(type(each) is str for each in inner)
    if tag == "BS":
        return type(inner) is list and all(type(each) is bytes for each in inner)
    if tag == "M":
        return type(inner) is dict and all(_in_process_value(each) for each in inner.values())
    if tag == "L":
        return type(inner) is list and all(_in_process_value(each) for each in inner)
    return False


class _InProcessAnswers(DynamoDBAnswers):
    """botocore's JSON parser given the dict moto's handler answered instead of its JSON
    text: the model is walked as for a body (members not in the model left out), and the
    attribute values, already what botocore makes of them, are handed over as they are.
    Anything JSON would have changed (not a JSON type; blobs and timestamps outside
    attribute values) raises ``_NotPlain``: that answer is then written as JSON."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__()
        self._answer = answer

    def _handle_json_body(self, raw_body: Any, shape: Any) -> Any:
        return self._parse_shape(shape, self._answer)

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue":
            if _in_process_value(value):
                return value
            raise _NotPlain
        if type(value) is not dict:
            raise _NotPlain
        return JSONParser._handle_structure(self, shape, value)  # type: ignore[attr-defined]

    def _handle_map(self, shape: Any, value: Any) -> Any:
        if type(value) is not dict:
            raise _NotPlain
        if shape.value.name == "AttributeValue":
            if all(_in_process_value(each) for each in value.values()):
                return value
            raise _NotPlain
        return JSONParser._handle_map(self, shape, value)  # type: ignore[attr-defined]

    def _handle_list(self, shape: Any, value: Any) -> Any:
        if type(value) is not list:
            raise _NotPlain
        return super()._handle_list(shape, value)

    def _default_handle(self, shape: Any, value: Any) -> Any:
        if type(value) not in (str, int, float, bool):
            raise _NotPlain
        return value

    _handle_string = _handle_integer = _handle_long = _handle_float = _default_handle
    _handle_double = _handle_boolean = _default_handle

    def _handle_blob(self, shape: Any, value: Any) -> Any:
        raise _NotPlain

    def _handle_timestamp(self, shape: Any, value: Any) -> Any:
        raise _NotPlain


def json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def handed_over(handler: Any, url: str, status: int, headers: Any, model: Any) -> Any:
    """The HTTP response and botocore's answer made of the dict moto's handler kept (see
    ``keep_answers``), or None when it kept none or it holds what JSON would change."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from moto.core.botocore_stubber import MockRawResponse

    kept = getattr(handler, "kept_answer", None)
    if kept is None:
        return None
    # No JSON text was written, so there is no checksum of one.
    headers = {name: value for name, value in headers.items() if name != "x-amz-crc32"}
    http = AWSResponse(url, status, headers, MockRawResponse(""))
    try:
        parsed = _InProcessAnswers(kept).parse(
            convert_to_response_dict(http, model), model.output_shape
        )
    except _NotPlain:
        return None
    return http, parsed


def keep_answers() -> None:
    """Gap: a DynamoDB answer taken the short way was still written as JSON text (moto's
    handler dumping its dict, the CRC of the text taken), read back by ``json.loads`` and
    walked by botocore's parser into new dicts again: 5-6 % of the stack's CPU, nearly all
    on the order's items of query answers. On AWS that text is the wire; in one process
    there is none. Here moto's handler, asked the short way, keeps a successful data-plane
    answer's dict (new dicts and lists made from its items under the table's lock, nothing
    of them shared) and ``handed_over`` gives botocore's parser that dict: the same model
    walk, the same answer, no text (and so no ``x-amz-crc32`` header in its metadata).
    What JSON would have changed is written as JSON after all."""
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    from infra.local.dynamodb_adaptations import DATA_PLANE

    original = DynamoHandler.serialized

    @functools.wraps(original)
    def serialized(self: Any, action_result: Any) -> Any:
        if (
            getattr(self, "answers_in_process", False)
            and type(action_result) is DynamoResult
            and isinstance(action_result.result, dict)
            and self._get_action() in DATA_PLANE
        ):
            self.kept_answer = action_result.result
            headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
            return 200, headers, ""
        return original(self, action_result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]
