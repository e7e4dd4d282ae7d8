"""What a Lambda cold start imports: ``import app`` leaves out what only some functions need
(templates, Babel, calendars, QR codes, address validation, boto3) and the X-Ray SDK, whose
recorder the Tracer makes at its first traced call (chalicelib/adapters/tracing.py); the
cyclic garbage collector is back on after the import (chalicelib/cold_start.py).
How long the import takes is measured by bench/cold_import.py, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from bench.cold_import import ROOT, lambda_environment
from chalicelib.adapters.tracing import LazyTracer

# Top-level packages only some functions use, each with what uses it.
DEFERRED = {
    "jinja2": "chalicelib/rendering.py: emails, the tracking page, the console",
    "babel": "chalicelib/presentation/wording.py: emails and pages",
    "holidays": "chalicelib/domain/calendars.py: delivery promises",
    "segno": "chalicelib/presentation/qr.py: pick-up codes",
    "email_validator": "chalicelib/domain/customers.py: the API's address checks",
    "aws_xray_sdk": "the Tracer, at the first traced call",
    # Clients come from botocore (chalicelib/composition.py); boto3 comes with Powertools'
    # parameters and idempotency, at the first secret read or keyed request.
    "boto3": "chalicelib/adapters/secrets.py and idempotency.py, at their first use",
    "s3transfer": "nothing: boto3 imports it",
}

_IMPORTED = """
import json, sys
import app
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_app_as_a_lambda_cold_start_leaves_out_what_only_some_functions_need() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED],
        cwd=ROOT,
        env=lambda_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert {"app", "chalicelib", "chalice", "pydantic"} <= imported
    assert imported & set(DEFERRED) == set()


_COLLECTOR = """
import gc, json, sys
{before}
import app
print(json.dumps({{"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                   "modules": len(sys.modules)}}))
"""


def _answer_after_import(snippet: str) -> dict[str, Any]:
    """The JSON line a fresh interpreter prints after running ``snippet`` (which imports
    app) in a deployed function's environment."""
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=ROOT,
        env=lambda_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _collector_after_import(before: str = "") -> dict[str, Any]:
    return _answer_after_import(_COLLECTOR.format(before=before))


def test_the_garbage_collector_is_back_after_the_import_with_the_import_s_objects_frozen() -> None:
    after = _collector_after_import()
    assert after["enabled"] is True
    # The app's objects (well over one per module imported) are out of later collections.
    assert after["frozen"] > 10 * after["modules"]


def test_a_process_that_had_turned_the_collector_off_keeps_it_off() -> None:
    assert _collector_after_import("gc.disable()")["enabled"] is False


_MODELS = """
import __future__, json, sys
import app
from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

models = {c for c in subclasses(BaseModel) if c.__module__.startswith("chalicelib.")}
print(json.dumps({
    "models": len(models),
    "built": sorted(f"{c.__module__}.{c.__qualname__}" for c in models if c.__pydantic_complete__),
    "from_text": sorted({
        c.__module__ for c in models
        if getattr(sys.modules[c.__module__], "annotations", None) is __future__.annotations
    }),
}))
"""

# Built at import because the import itself uses them: the settings (the SNS topic's name),
# and the constants made of models (tax regimes, shipping fees, carrier services).
BUILT_BY_THE_IMPORT = [
    "chalicelib.config.ApiKey",
    "chalicelib.config.Settings",
    "chalicelib.domain.pricing.ShippingFees",
    "chalicelib.domain.pricing.ZoneFee",
    "chalicelib.domain.promises.CarrierService",
    "chalicelib.domain.regions.TaxRegime",
]
# Modules whose models may keep ``from __future__ import annotations``: they name the
# services' dependencies, imported only for type checking (few fields between them).
ANNOTATIONS_AS_TEXT = [
    "chalicelib.config",
    "chalicelib.services.availability",
    "chalicelib.services.compensation",
    "chalicelib.services.step_models",
]


def _models_after_import() -> dict[str, Any]:
    return _answer_after_import(_MODELS)


def test_importing_app_builds_only_the_models_the_import_itself_uses() -> None:
    models = _models_after_import()
    # Every other model (DeferredModel) builds its validator at its first use.
    assert models["models"] > 200
    assert models["built"] == BUILT_BY_THE_IMPORT


def test_the_app_s_models_keep_their_annotations_as_objects() -> None:
    # pydantic evaluates an annotation kept as text with a compile and an eval per field, at
    # every cold start: about 1,300 fields (docs/performance.md, "Cold import, fifth round").
    assert _models_after_import()["from_text"] == ANNOTATIONS_AS_TEXT


class RecordingTracer:
    """Stands for Powertools' Tracer: records what it decorated and what it was asked."""

    made = 0

    def __init__(self, service: str) -> None:
        RecordingTracer.made += 1
        self.decorated: list[str] = []

    def capture_lambda_handler(self, handler: Any) -> Any:
        self.decorated.append(f"handler {handler.__name__}")
        return lambda event, context: ("traced", handler(event, context))

    def capture_method(self, method: Any) -> Any:
        self.decorated.append(f"method {method.__name__}")
        return lambda *args: ("traced", method(*args))


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingTracer]:
    import aws_lambda_powertools

    RecordingTracer.made = 0
    monkeypatch.setattr(aws_lambda_powertools, "Tracer", RecordingTracer)
    return RecordingTracer


def test_the_lazy_tracer_makes_one_tracer_at_the_first_call_and_traces_every_call(
    recording: type[RecordingTracer],
) -> None:
    tracer = LazyTracer(service="orquesta")

    @tracer.capture_lambda_handler
    def step(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"seen": event["n"]}

    @tracer.capture_method
    def subscriber(message: str) -> str:
        return message.upper()

    assert (recording.made, tracer.built) == (0, None)
    assert step.__name__ == "step"  # chalice names the function after it
    assert step({"n": 1}, None) == ("traced", {"seen": 1})
    assert step({"n": 2}, None) == ("traced", {"seen": 2})
    assert subscriber("hola") == ("traced", "HOLA")
    built: Any = tracer.built
    assert recording.made == 1
    assert built.decorated == ["handler step", "method subscriber"]


def test_the_api_s_first_request_makes_the_tracer_before_its_handler_runs(
    recording: type[RecordingTracer],
) -> None:
    tracer = LazyTracer(service="orquesta")
    seen: list[object] = []

    def handler(request: str) -> str:
        seen.append(tracer.built)
        return f"answer to {request}"

    assert tracer.patch_aws_calls("GET /", handler) == "answer to GET /"
    assert seen[0] is not None and seen[0] is tracer.built
    assert tracer.patch_aws_calls("GET /x", handler) == "answer to GET /x"
    assert recording.made == 1
