"""The deployment zip without what Lambda already has or the product never reads, and with
the bytecode Lambda cannot write.

``chalice package`` bundles every package of requirements.txt with its dependencies. Two
kinds of files in it are dead weight on every cold start (Lambda downloads and unpacks the
whole zip) and against the 250 MB unzipped limit:

- what the Lambda Python runtime ships: the AWS SDK (boto3, botocore, s3transfer) and its
  dependencies (jmespath, urllib3, python-dateutil, six). No pinned version of them is
  needed: the adapters call long-standing DynamoDB, SNS, SES, SSM and Step Functions APIs,
  aws-xray-sdk asks for botocore>=1.11.3 and Powertools for jmespath>=1.0.1, which every
  supported runtime's SDK satisfies. The dev lockfile keeps pinning them for the local
  stack and the tests;
- Babel's CLDR data for the ~1,000 locales the product does not speak: it formats money
  and dates in ``chalicelib.presentation.wording.BABEL_LOCALES`` only (es_ES, en_GB), which
  need their parent chain (es_ES -> es -> root, en_GB -> en_001 -> en -> root).

And one kind of file it lacks: bytecode. Lambda unpacks the zip read-only, so without
``__pycache__`` every cold start compiles every module it imports (more than doubling the
time ``import app`` takes) and cannot keep the result. The modules a cold start imports
(``import app``, found by ``cold_start_modules``), those the app imports at a function's
first call instead (``FIRST_CALL_IMPORTS``) and the whole of ``chalicelib`` get their
``.pyc``; the rest (most of holidays, dnspython, Powertools' other utilities) would add
4 MB zipped for modules only some functions load. Compiled by the Python that packages,
which is the runtime's version (chalice picks the runtime from it), as unchecked-hash pycs
(PEP 552): loaded without comparing the source's modification time, which unzipping does
not keep reliably.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from importlib.util import MAGIC_NUMBER, source_hash
from pathlib import Path

# Top-level names (packages, modules, their dist-info and data dirs) the runtime provides.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
# Their distributions' dist-info and .data directories; python-dateutil's is named after
# the distribution, not the package.
_RUNTIME_DIST_PREFIXES = (
    "boto3-",
    "botocore-",
    "s3transfer-",
    "jmespath-",
    "urllib3-",
    "six-",
    "python_dateutil-",
)

BABEL_LOCALE_DATA = "babel/locale-data/"


def locale_chain(locale: str) -> list[str]:
    """A Babel locale and the parents it inherits from, root last (CLDR's parent locales
    for the two the product speaks, then the identifier truncated)."""
    explicit_parents = {"en_GB": "en_001", "en_001": "en"}
    chain = [locale]
    while chain[-1] != "root":
        current = chain[-1]
        parent = explicit_parents.get(current) or (
            current.rsplit("_", 1)[0] if "_" in current else "root"
        )
        chain.append(parent)
    return chain


def kept_locales(locales: Iterable[str]) -> frozenset[str]:
    """Every locale-data file the given locales read."""
    return frozenset(name for locale in locales for name in locale_chain(locale))


def runtime_provided(name: str) -> bool:
    """Whether a path in the zip belongs to a package the Lambda runtime ships."""
    top = name.split("/", 1)[0]
    module = top.removesuffix(".py")
    return module in RUNTIME_PROVIDED or top.startswith(_RUNTIME_DIST_PREFIXES)


def dropped(name: str, locales: frozenset[str]) -> bool:
    """Whether a path in the zip is left out of the slim package."""
    if runtime_provided(name):
        return True
    if name.startswith(BABEL_LOCALE_DATA) and name.endswith(".dat"):
        return name[len(BABEL_LOCALE_DATA) : -len(".dat")] not in locales
    return False


# PEP 552 flags: hash-based (bit 0), source not checked (bit 1 clear).
_UNCHECKED_HASH_PYC = (0b01).to_bytes(4, "little")


def bytecode_path(name: str) -> str:
    """Where the interpreter looks for a module's bytecode: ``pkg/__pycache__/mod.TAG.pyc``."""
    folder, _, file = name.rpartition("/")
    pyc = f"__pycache__/{file.removesuffix('.py')}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{pyc}" if folder else pyc


def bytecode(source: bytes, name: str) -> bytes | None:
    """An unchecked-hash pyc of a module's source; None if it does not compile (a file
    no import reads, such as a template in Python 2 syntax)."""
    try:
        code = compile(source, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return MAGIC_NUMBER + _UNCHECKED_HASH_PYC + source_hash(source) + marshal.dumps(code)


# Imported at the first call of the functions that need them, not by ``import app``: the
# SSM parameters (chalicelib/adapters/secrets.py, the API's keys and the signing keys) and
# idempotency (chalicelib/adapters/idempotency.py, keyed API requests). They had bytecode
# while ``import app`` loaded them, and keep it.
FIRST_CALL_IMPORTS = (
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.idempotency",
)

# Run in a fresh interpreter: the source files of every module ``import app`` (and then
# FIRST_CALL_IMPORTS) loaded, as paths relative to the sys.path entry they came from (the
# zip's layout).
_LIST_COLD_START = """
import importlib, json, os, sys
import app
for name in sys.argv[1:]:
    importlib.import_module(name)
roots = sorted((os.path.realpath(p) for p in sys.path), key=len, reverse=True)
found = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path and path.endswith(".py"):
        path = os.path.realpath(path)
        root = next((r for r in roots if path.startswith(r + os.sep)), None)
        if root is not None:
            found.add(os.path.relpath(path, root).replace(os.sep, "/"))
print(json.dumps(sorted(found)))
"""


def cold_start_modules(project: Path, env: dict[str, str]) -> frozenset[str]:
    """The zip paths of the modules ``import app`` and then ``FIRST_CALL_IMPORTS`` load, in a
    function's environment."""
    result = subprocess.run(
        [sys.executable, "-c", _LIST_COLD_START, *FIRST_CALL_IMPORTS],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return frozenset(json.loads(result.stdout.strip().splitlines()[-1]))


def compiled(name: str, cold_start: frozenset[str]) -> bool:
    """Whether a zip entry gets its bytecode."""
    return name.endswith(".py") and (
        name in cold_start or name == "app.py" or name.startswith("chalicelib/")
    )


def slim(zip_path: Path, locales: Iterable[str], cold_start: frozenset[str]) -> tuple[int, int]:
    """Rewrite the zip without the runtime's packages and the unspoken locales, with the
    bytecode of the cold start's modules; returns the zip's size in bytes before and after."""
    keep = kept_locales(locales)
    before = zip_path.stat().st_size
    slimmed = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(slimmed, "w") as target:
        for info in source.infolist():
            if dropped(info.filename, keep) or "/__pycache__/" in f"/{info.filename}":
                continue
            data = source.read(info)
            # The entry as chalice wrote it: same permissions, dates and compression.
            target.writestr(info, data, compress_type=info.compress_type)
            pyc = bytecode(data, info.filename) if compiled(info.filename, cold_start) else None
            if pyc is not None:
                entry = zipfile.ZipInfo(bytecode_path(info.filename), info.date_time)
                entry.external_attr = info.external_attr
                target.writestr(entry, pyc, compress_type=zipfile.ZIP_DEFLATED)
    os.replace(slimmed, zip_path)
    return before, zip_path.stat().st_size
