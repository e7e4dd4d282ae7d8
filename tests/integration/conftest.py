"""Fixtures of the packaging tests (tests/integration/test_packaging_*.py): the functions
chalice packages for app.py and the dev stage's merge template, built once in a fresh
interpreter.

Session-scoped, so the four modules share one build as the single module they were split
from did: they are all in the xdist group "packaging", which ``--dist loadgroup`` runs on
one worker, and no test changes what the fixtures return."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from infra.aws import package
from tests.support.packaged_template import ROOT, STAGE

_BUILD = """
import json, os, sys
from dataclasses import asdict
from infra.aws import package
functions = package.app_functions(sys.argv[1])
import app as app_module
app = app_module.app
handlers = [
    [name, handler.handler_string,
     getattr(app_module, handler.handler_string.split(".")[1], None) is app.handler_map[name]]
    for name, handler in [(f.name, f) for f in app.pure_lambda_functions]
    + [(e.name, e) for e in app.event_sources]
]
built = {"functions": [asdict(f) for f in functions],
         "template": package.merge_template(sys.argv[1], functions),
         "steps": sorted(app_module.STEPS), "handlers": handlers}
print(json.dumps(built))
"""


@pytest.fixture(scope="session")
def built() -> dict[str, Any]:
    """Functions and merge template, built in a fresh interpreter: app.py names its SNS
    topic after the stage when imported, and in this process the local stack's tests may
    already have imported it for stage "local"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    env["ORQUESTA_STAGE"] = STAGE
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, STAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="session")
def functions(built: dict[str, Any]) -> list[package.Function]:
    """The functions chalice packages for app.py."""
    return [
        package.Function(
            **{
                **f,
                "sns_events": tuple(tuple(event) for event in f["sns_events"]),
                "schedule_events": tuple(f["schedule_events"]),
            }
        )
        for f in built["functions"]
    ]


@pytest.fixture(scope="session")
def template(built: dict[str, Any]) -> dict[str, Any]:
    """The merge template for the dev stage."""
    return dict(built["template"])
