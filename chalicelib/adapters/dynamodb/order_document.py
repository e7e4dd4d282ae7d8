"""The order as stored before it became two readable items (``order_items``): one item
holding the whole order as a document, read still and rewritten as two items by the
order's next save. ``pack`` is kept to write that form in tests.

Its last form was JSON compressed with zlib against a preset dictionary (``doc_zd1``:
a typical order, so only what differs was stored, 300-400 bytes); before it, plain zlib
(``doc_z``) and a map (``doc``). The dictionary is part of that stored format: never edit
``_DICTIONARY_V1``."""

from __future__ import annotations

import json
import zlib
from typing import Any

# Attribute holding the document compressed against ``_DICTIONARY_V1``.
DOC_ATTRIBUTE = "doc_zd1"
_LEVEL = 9

# A typical order (a pick-up and a shipment, de-identified), as the model dumps it, after
# the rarer values: zlib looks for matches here first, the most common strings last.
_DICTIONARY_V1 = (
    b'"DELIVERED","delivered by ","RETURNED","CANCELLED","REJECTED","LOST","NOT_COLLEC'
    b'TED","COLLECTED","VOIDED","REFUNDED","refund","void","payment_declined","out_of_'
    b'stock","store","kiosk","app","late","breached","arn:aws:states:",{"order_id":"or'
    b'd_0123456789abcdef0123","status_reason":null,"channel":"web","store_id":null,"cl'
    b'ient_id":"demo-shop","customer_id":"cus_0123456789abcdef","contact":{"email":"cl'
    b'iente@example.com","phone":null,"name":"Ana","locale":"es"},"lines":[{"sku":"TSH'
    b'IRT-BLK-M","name":"Camiseta negra M","quantity":1,"unit_price":{"amount":"19.95"'
    b',"currency":"EUR"},"line_total":{"amount":"19.95","currency":"EUR"},"fulfillment'
    b'":"ship","location_id":null},{"sku":"TSHIRT-BLK-M","name":"Camiseta negra M","qu'
    b'antity":1,"unit_price":{"amount":"19.95","currency":"EUR"},"line_total":{"amount'
    b'":"19.95","currency":"EUR"},"fulfillment":"pickup","location_id":"ST-MADRID"}],"'
    b'total":{"amount":"39.90","currency":"EUR"},"shipping_address":{"name":"Ana","lin'
    b'e1":"Calle Mayor 1","city":"Madrid","postal_code":"28013","country":"ES"},"payme'
    b'nt_token":"tok_visa","payment":{"status":"CAPTURED","payment_id":"pay_0123456789'
    b'ab","authorized":{"amount":"39.90","currency":"EUR"},"captured":{"amount":"19.95'
    b'","currency":"EUR"},"refunded":{"amount":"0.00","currency":"EUR"},"voided":{"amo'
    b'unt":"0.00","currency":"EUR"},"operations":[{"key":"ord_0123456789abcdef0123:ord'
    b'_0123456789abcdef0123-F2:capture","type":"capture","amount":{"amount":"19.95","c'
    b'urrency":"EUR"},"status":"done","recorded_at":"2026-03-02T09:00:00Z","done_at":"'
    b'2026-03-02T09:00:00Z","attempts":0,"last_error":null,"alerted":false}],"listed_a'
    b's_owed":false},"consent":{"terms_version":"2026-01","privacy_version":"2026-01",'
    b'"accepted_at":"2026-03-02T09:00:00Z","channel":"web"},"fulfillments":[{"fulfillm'
    b'ent_id":"ord_0123456789abcdef0123-F1","type":"pickup","location_id":"ST-MADRID",'
    b'"status":"READY_FOR_PICKUP","lines":[{"sku":"TSHIRT-BLK-M","quantity":1}],"shipm'
    b'ent":null,"pickup_code":"000000","pickup_deadline":"2026-03-05T09:00:00Z","statu'
    b's_reason":null,"refunded":null,"task_token":null},{"fulfillment_id":"ord_0123456'
    b'789abcdef0123-F2","type":"ship","location_id":"WH-GETAFE","status":"SHIPPED","li'
    b'nes":[{"sku":"TSHIRT-BLK-M","quantity":1}],"shipment":{"carrier":"rapido","servi'
    b'ce_level":"express","tracking_number":"RAP0000000000","tracking_url":"https://tr'
    b'ack.rapido.example/RAP0000000000","promised_by":"2026-03-03T19:00:00Z","shipped_'
    b'at":"2026-03-02T09:00:00Z","delivered_at":null,"sla_status":"on_time","breached_'
    b'at":null,"lost_at":null,"events":[]},"pickup_code":null,"pickup_deadline":null,"'
    b'status_reason":null,"refunded":null,"task_token":null}],"sourcing_reason":"every'
    b' ship line from WH-GETAFE (fewest locations, warehouse first)","returns":[],"his'
    b'tory":[{"status":"ACCEPTED","at":"2026-03-02T09:00:00Z","detail":"placed via web'
    b'"},{"status":"PAID","at":"2026-03-02T09:00:00Z","detail":"payment of 39.90 autho'
    b'rised"},{"status":"RESERVED","at":"2026-03-02T09:00:00Z","detail":"every ship li'
    b'ne from WH-GETAFE (fewest locations, warehouse first)"},{"status":"SHIPPED","at"'
    b':"2026-03-02T09:00:00Z","detail":"shipped with rapido, tracking RAP0000000000"}]'
    b',"execution_arn":"arn:aws:states:eu-west-1:123456789012:execution:orders:ord_012'
    b'3456789abcdef0123","retries":[],"receipt_code":null,"placed_at":"2026-03-02T09:0'
    b'0:00Z","delivery_task_token":null,"returns_task_token":null,"return_window_secon'
    b'ds":2592000,"returns_window_ends":null,"attention":null,"pricing":null}'
)


def pack(document: bytes) -> dict[str, bytes]:
    """The item attribute holding an order's JSON document."""
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, zdict=_DICTIONARY_V1)
    return {DOC_ATTRIBUTE: compressor.compress(document) + compressor.flush()}


def is_document(values: dict[str, Any]) -> bool:
    """Whether an order item holds the whole order as a document (an older form)."""
    return any(name in values for name in (DOC_ATTRIBUTE, "doc_z", "doc"))


def unpack(values: dict[str, Any]) -> dict[str, Any]:
    """The order document of an item, in whichever form it was written."""
    if DOC_ATTRIBUTE in values:
        decompressor = zlib.decompressobj(zlib.MAX_WBITS, zdict=_DICTIONARY_V1)
        raw = decompressor.decompress(bytes(values[DOC_ATTRIBUTE])) + decompressor.flush()
        loaded: dict[str, Any] = json.loads(raw)
        return loaded
    if "doc_z" in values:  # plain zlib, before the dictionary
        older: dict[str, Any] = json.loads(zlib.decompress(bytes(values["doc_z"])))
        return older
    return dict(values["doc"])  # a map, as first written
