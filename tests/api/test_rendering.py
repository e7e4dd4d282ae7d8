"""The one Jinja environment: HTML pages escape what they show, scripts are inlined whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup

from chalicelib import rendering
from chalicelib.api.console import SCRIPTS


def test_the_console_page_escapes_its_values_and_inlines_its_scripts_under_the_nonce() -> None:
    script = rendering.inline_script(*SCRIPTS)
    html = rendering.render(
        "ops.html.j2", nonce="n0nce", stage="<b>x</b>", statuses=("RUNNING",), script=script
    )
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert f'<script nonce="n0nce">\n{script}\n  </script>' in html
    assert html.count("<script") == 1
    assert "window.OrquestaGraph" in script  # graph.js, then console.js reading it
    assert script.index("window.OrquestaGraph = ") < script.index("= window.OrquestaGraph")
    # insights.js, installed by console.js once its helpers exist
    assert script.index("window.OrquestaInsights = ") < script.index("= window.OrquestaInsights({")


def test_a_name_missing_from_an_emails_context_is_an_error() -> None:
    with pytest.raises(UndefinedError):
        rendering.render("emails/ticket.html.j2")


def test_a_script_that_would_close_the_inline_element_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.js").write_text("const s = '</SCRIPT>';\n")
    monkeypatch.setattr(rendering, "STATIC", tmp_path)
    with pytest.raises(ValueError, match=r"bad\.js"):
        rendering.inline_script("bad.js")
    (tmp_path / "good.js").write_text("const s = 1;\n")
    assert rendering.inline_script("good.js") == Markup("const s = 1;")
