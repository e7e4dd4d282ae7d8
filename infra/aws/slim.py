"""The deployment zip without what Lambda already has or the product never reads.

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
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
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


def slim(zip_path: Path, locales: Iterable[str]) -> tuple[int, int]:
    """Rewrite the zip without the runtime's packages and the unspoken locales; returns
    the zip's size in bytes before and after."""
    keep = kept_locales(locales)
    before = zip_path.stat().st_size
    slimmed = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(slimmed, "w") as target:
        for info in source.infolist():
            if not dropped(info.filename, keep):
                # The entry as chalice wrote it: same permissions, dates and compression.
                target.writestr(info, source.read(info), compress_type=info.compress_type)
    os.replace(slimmed, zip_path)
    return before, zip_path.stat().st_size
