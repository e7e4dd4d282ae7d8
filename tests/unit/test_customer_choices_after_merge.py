"""What the survivor of a merge keeps of the merged record's language."""

from __future__ import annotations

import pytest

from chalicelib.domain.customers import LOCALE_CHOSEN, language_after_merge


def _profile(locale: str, chosen: bool) -> dict[str, object]:
    return {"state": "active", "locale": locale} | ({LOCALE_CHOSEN: True} if chosen else {})


@pytest.mark.parametrize(
    ("survivor", "merged", "kept"),
    [
        (("es", False), ("en", True), "en"),  # re-probe 188: the default Spanish won
        # Re-probe 189: English stored before the mark was asked for all the same.
        (("es", False), ("en", False), "en"),
        (("es", False), ("es", False), None),  # neither chose: the survivor's stays
        (("es", True), ("en", True), None),  # both chose: the survivor's stays
        (("en", False), ("es", True), None),  # English unmarked was chosen too
        (("en", True), ("es", False), None),
    ],
)
def test_a_language_only_the_merged_record_chose_is_kept(
    survivor: tuple[str, bool], merged: tuple[str, bool], kept: str | None
) -> None:
    assert language_after_merge(_profile(*survivor), _profile(*merged)) == kept
