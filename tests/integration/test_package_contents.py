"""What `make package` puts in the deployment zip: the app and what it imports, without the
AWS SDK the Lambda runtime ships or Babel data for locales the product does not speak,
still able to word money and dates from what is left, and with the bytecode of what a cold
start imports (infra/aws/slim.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.aws.slim import FIRST_CALL_IMPORTS

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
# What the Lambda Python runtime already has: the SDK and the SDK's own dependencies.
RUNTIME_SHIPPED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
# es_ES and en_GB (chalicelib.presentation.wording) and the CLDR parents Babel reads with them.
SPOKEN_LOCALE_DATA = {"es_ES", "es", "en_GB", "en_001", "en", "root"}

_BUILD = """
import sys
from pathlib import Path
from infra.aws import package
package.package(sys.argv[1], "eu-west-1", Path(sys.argv[2]))
"""

# Every way the product words money and time, printed one a line; run against the venv's
# Babel and against the zip's.
_WORDING = """
import sys
if sys.argv[1:]:
    sys.path.insert(0, sys.argv[1])
from datetime import UTC, datetime
from chalicelib.presentation import wording
from chalicelib.presentation.wording import CANARY, Language
import babel

assert sys.argv[1:] == [] or babel.__file__.startswith(sys.argv[1]), babel.__file__
at = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
for language in Language:
    for amount, currency in (("1234.5", "EUR"), ("10", "USD"), ("10", "GBP")):
        print(wording.format_money(amount, language, currency))
    for zone in (wording.MADRID, CANARY):
        print(wording.format_when(at, language, zone), wording.format_date(at, language, zone))
        print(wording.format_day(at, language, zone), wording.format_time(at, language, zone))
"""


@pytest.fixture(scope="module")
def deployment_zip() -> Iterator[Path]:
    """`make package`'s zip for one stage, built in a fresh interpreter (packaging sets the
    stage in the environment) into a directory of its own."""
    dist = ROOT / "var" / f"package-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    try:
        subprocess.run(
            [sys.executable, "-c", _BUILD, STAGE, str(dist)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        yield dist / STAGE / "deployment.zip"
    finally:
        shutil.rmtree(dist, ignore_errors=True)


def top_level_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[0].removesuffix(".py") for name in archive.namelist()}


def test_the_package_leaves_out_what_the_lambda_runtime_ships(deployment_zip: Path) -> None:
    names = top_level_names(deployment_zip)
    assert {"app", "chalicelib", "chalice", "pydantic_core", "babel"} <= names
    bundled = {
        name
        for name in names
        for shipped in RUNTIME_SHIPPED
        if name == shipped or name.startswith((f"{shipped}-", f"python_{shipped}-"))
    }
    assert bundled == set()


def test_the_package_holds_babel_data_of_the_spoken_locales_only(deployment_zip: Path) -> None:
    with zipfile.ZipFile(deployment_zip) as archive:
        locale_data = {
            Path(name).stem
            for name in archive.namelist()
            if name.startswith("babel/locale-data/") and name.endswith(".dat")
        }
    assert locale_data == SPOKEN_LOCALE_DATA


def test_money_and_dates_are_worded_from_the_package_as_from_the_full_babel(
    deployment_zip: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(deployment_zip) as archive:
        archive.extractall(tmp_path)

    def worded(*package_dir: str) -> list[str]:
        # -S: no site-packages, so the package's own Babel, pydantic and tzdata are used.
        flags = ["-S"] if package_dir else []
        result = subprocess.run(
            [sys.executable, *flags, "-c", _WORDING, *package_dir],
            cwd=tmp_path if package_dir else ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.splitlines()

    from_package = worded(str(tmp_path))
    assert from_package == worded()
    assert "1.234,50\xa0€" in from_package


def test_a_cold_start_imports_the_app_from_the_package_s_bytecode(
    deployment_zip: Path, tmp_path: Path
) -> None:
    # Lambda's task directory is read-only: bytecode it cannot find, it compiles at every
    # cold start. Sources that no longer compile prove the import never read them.
    with zipfile.ZipFile(deployment_zip) as archive:
        archive.extractall(tmp_path)
    # What the first secret read and the first keyed request import has bytecode too.
    first_call = [f"{name.replace('.', '/')}/__init__.py" for name in FIRST_CALL_IMPORTS]
    for source in ("app.py", "chalicelib/config.py", "pydantic/main.py", "chalice/app.py"):
        (tmp_path / source).write_text("raise ImportError('compiled from source')\n")
    for source in first_call:
        (tmp_path / source).write_text("raise ImportError('compiled from source')\n")
    # The zip first, then the SDK the runtime provides (here the venv's); -B writes nothing.
    script = (
        f"import sys; sys.path[:0] = [{str(tmp_path)!r}];"
        f" sys.path.append({sysconfig.get_paths()['purelib']!r}); import app; print(app.app);"
        f" import {', '.join(FIRST_CALL_IMPORTS)}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    env |= {
        "ORQUESTA_STAGE": STAGE,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ORQUESTA_API_KEYS_PARAMETER": "/orquesta/dev/api-keys",
        "ORQUESTA_CARRIER_SECRET_PARAMETER": "/orquesta/dev/carrier-secrets",
        "ORQUESTA_TRACKING_SECRET_PARAMETER": "/orquesta/dev/tracking-secret",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-B", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Chalice" in result.stdout
