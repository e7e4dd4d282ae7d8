"""How the short way of ``direct_calls`` reads a DynamoDB request's parameters: moto's own
JSON request parser, with attribute values read in one step instead of through the
AttributeValue union's model (``DynamoDBRequests``). Tested with ``direct_calls`` in
``tests/integration/test_local_direct_calls.py``."""

from __future__ import annotations

from typing import Any

from moto.core.parse import JSONParser

# The AttributeValue union's members whose JSON is a string, a boolean, or a list of
# strings: moto's parser hands them over as they are (strings and booleans have no parser
# of their own in its JSON protocol) or decodes them (blobs).
_TEXTS = frozenset(("S", "N"))
_FLAGS = frozenset(("BOOL", "NULL"))
_TEXT_SETS = frozenset(("SS", "NS"))


class _Unread(Exception):
    """A value the one-step reading leaves to moto's walk (not one moto's model knows as
    exactly one member of the union with a value of its JSON type)."""


class DynamoDBRequests(JSONParser):
    """Gap: moto's JSON request parser reads every DynamoDB attribute value of a request
    (each attribute of an item, of a key, of ``ExpressionAttributeValues``, nested maps
    and lists too) by walking the AttributeValue union's model: for each of its ten
    members a dict lookup of the member's serialised name and of the value, then a
    dispatch by type name for the one present. That walk was most of the parsing of a
    request, about 4 % of the stack's CPU; on AWS the service reads its requests on its
    own machines. Here a value that is exactly one known member with a value of its
    JSON type (what botocore's serialiser writes) is read in one step to what moto's walk
    makes of it: strings, numbers, booleans and string sets as they are, blobs through
    the parser's own blob parser, maps and lists member by member. Anything else (two
    members, an unknown one, a null, a wrong type) is left to moto's walk, which reads
    it as it always has."""

    def _attribute_value(self, value: Any) -> Any:
        if type(value) is not dict or len(value) != 1:
            raise _Unread
        ((tag, inner),) = value.items()
        if tag in _TEXTS:
            if type(inner) is not str:
                raise _Unread
            return {tag: inner}
        if tag in _FLAGS:
            if type(inner) is not bool:
                raise _Unread
            return {tag: inner}
        if tag == "M":
            return {"M": self._attribute_map(inner)}
        if tag == "L":
            if type(inner) is not list:
                raise _Unread
            return {"L": [self._attribute_value(each) for each in inner]}
        if type(inner) is not list or any(type(each) is not str for each in inner):
            if tag == "B" and type(inner) is str:
                return {"B": self._blob_parser(inner)}
            raise _Unread
        if tag in _TEXT_SETS:
            return {tag: list(inner)}
        if tag == "BS":
            return {"BS": [self._blob_parser(each) for each in inner]}
        raise _Unread

    def _parse_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue":
            try:
                return self._attribute_value(value)
            except _Unread:
                pass
        return super()._parse_structure(shape, value)  # type: ignore[no-untyped-call]

    def _attribute_map(self, value: Any) -> Any:
        """A map of names to attribute values (an item, a key, a ``M``), read in one step."""
        if type(value) is not dict:
            raise _Unread
        members = self.MAP_TYPE()
        for name, each in value.items():
            if type(name) is not str:
                raise _Unread
            members[name] = self._attribute_value(each)
        return members

    def _parse_map(self, shape: Any, value: Any) -> Any:
        if shape.value.name == "AttributeValue":
            try:
                return self._attribute_map(value)
            except _Unread:
                pass
        return super()._parse_map(shape, value)  # type: ignore[no-untyped-call]
