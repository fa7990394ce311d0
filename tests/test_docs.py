"""Docs that cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from graph import schema
from graph.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_schema_section_matches_code():
    section = re.search(r"<!-- schema:start -->\n(.*)<!-- schema:end -->", README, re.S)
    assert section, "README lost its schema markers"
    assert section.group(1) == schema.markdown(), "run: jigsaw db schema, paste into README"


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "./demo.sh" in first_block and "./test.sh" in first_block
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"JIGSAW_{name.upper()}" in README, name
