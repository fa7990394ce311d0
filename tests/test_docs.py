"""Docs that cannot drift from the code: every setting, mapping option, canonical field,
command, saved query and role is documented; every link resolves; the worked example
in docs/loading.md gives what the page says it gives."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
import typer

from graph import schema
from graph.access.policy import load_policy
from graph.settings import Settings
from loaders.extracts import Extract, read_extract
from loaders.fields import FIELDS
from loaders.mapping import SourceMapping, load_mapping
from queries.library import load_library
from tests.shipping import shipped_packages
from ui.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted(DOCS.glob("*.md"))]


def page(name: str) -> str:
    return (DOCS / name).read_text()


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading)
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if re.match(rf"#{{1,{level}}} ", lines[i]) and not _in_code(lines, i)
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def _in_code(lines: list[str], index: int) -> bool:
    return sum(line.startswith("```") for line in lines[:index]) % 2 == 1


# -- the README ------------------------------------------------------------------------


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "./demo.sh" in first_block and "./test.sh" in first_block
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()


def test_readme_is_a_short_guide():
    assert len(README.encode()) < 25_000


def test_license_is_the_one_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Jigsaw contributors" in text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()


# -- the pages against the code ------------------------------------------------------


def test_schema_page_matches_code():
    body = re.search(r"<!-- schema:start -->\n(.*)<!-- schema:end -->", page("schema.md"), re.S)
    assert body, "docs/schema.md lost its schema markers"
    assert body.group(1) == schema.markdown(), "run: jigsaw db schema, paste into docs/schema.md"


def test_every_setting_is_documented():
    rows = page("settings.md")
    for name in Settings.model_fields:
        assert f"| `JIGSAW_{name.upper()}` |" in rows, f"JIGSAW_{name.upper()}"


def test_every_environment_variable_the_code_reads_is_documented():
    used = set()
    for package in shipped_packages():
        for path in (ROOT / package).rglob("*.py"):
            used |= set(re.findall(r"\bJIGSAW_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert used, "found no JIGSAW_ variables: the scan is broken"
    text = page("settings.md")
    missing = sorted(v for v in used if f"`{v}`" not in text)
    assert not missing, f"not in docs/settings.md: {missing}"


# ``path`` is filled in by the loader (where the mapping was read from), not written.
NOT_MAPPING_OPTIONS = {"path"}


def test_every_mapping_option_has_its_own_section():
    text = page("loading.md")
    options = set(SourceMapping.model_fields) - NOT_MAPPING_OPTIONS
    for option in sorted(options):
        heading = f"### `{option}`"
        assert heading in text.splitlines(), f"docs/loading.md has no section {heading}"
        assert "```yaml" in section(text, heading), f"{option}: no example"


def test_every_canonical_field_is_listed_with_its_type():
    text = page("loading.md")
    for name, field in FIELDS.items():
        assert f"| `{name}` | {field.type} |" in text, name


def _commands(group, prefix: str) -> dict:
    """Every command of a Typer app's command tree, by its full name."""
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            found |= _commands(command, path)
        else:
            found[path] = command
    return found


def test_every_command_and_option_is_documented():
    text = page("cli.md")
    commands = _commands(typer.main.get_group(app), "jigsaw")
    assert len(commands) > 10, "the command scan is broken"
    for path, command in commands.items():
        heading = f"### {path}"
        assert heading in text.splitlines(), f"docs/cli.md has no section {heading}"
        body = section(text, heading)
        for param in command.params:
            if param.param_type_name == "option" and "--help" not in param.opts:
                names = param.opts + param.secondary_opts
                assert any(re.search(rf"(?<![\w-]){n}(?![\w-])", body) for n in names), (
                    f"{path}: {names[0]} undocumented"
                )


def test_every_saved_query_is_listed():
    text = page("queries.md")
    for query in load_library():
        assert f"| `{query.id}` |" in text, query.id


def test_every_role_is_listed():
    text = page("access.md")
    for role in load_policy().roles:
        assert f"| `{role}` |" in text, role


def test_every_column_kind_is_documented():
    from graph.access.results import COLUMN_KINDS

    text = page("access.md")
    for kind in COLUMN_KINDS:
        assert f"| `{kind}` |" in text, kind


# -- links ---------------------------------------------------------------------------


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens,
    repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"#{1,6} (.*)", line)
        if not match or _in_code(lines, i):
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(text: str) -> list[str]:
    """Targets of Markdown links and images, outside code blocks and code spans."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return re.findall(r"\]\(([^)\s]+)\)", prose)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path):
    for target in links(path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        assert ROOT in resolved.parents, f"{path.name}: {target} leaves the repository"
        if anchor:
            assert anchor in anchors(resolved.read_text()), f"{path.name}: no #{anchor}"


def test_every_docs_page_is_in_the_index():
    index = page("index.md")
    for path in DOCS.glob("*.md"):
        if path.name != "index.md":
            assert f"]({path.name})" in index, path.name


def test_no_tracked_file_names_a_path_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = re.compile(r"(?<![\w.~-])/(" + "|".join(["work", "tmp", "root", "home"]) + r")/")
    found = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".png", ".lock"} or name.endswith("package-lock.json"):
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [f"{name}: {m.group(0)}" for m in outside.finditer(text)]
    assert not found, found


# -- the worked example in docs/loading.md ---------------------------------------------


def example(name: str) -> str:
    """The code block the page marks with ``<!-- example: name -->``."""
    marked = rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```"
    match = re.search(marked, page("loading.md"), re.S)
    assert match, f"docs/loading.md lost its example {name}"
    return match.group(1)


def test_worked_example_gives_what_the_page_says(tmp_path):
    csv_name = "early_years/512345_funded_places.csv"
    (tmp_path / "early_years").mkdir()
    (tmp_path / csv_name).write_text(example(csv_name))
    (tmp_path / "ey_funding.yaml").write_text(example("ey_funding.yaml"))
    mapping = load_mapping(tmp_path / "ey_funding.yaml")
    (path,) = tmp_path.glob(mapping.files)
    outcome = read_extract(Extract(mapping, path, csv_name), dt.date(2025, 9, 15))

    documented = list(csv.DictReader(io.StringIO(example("quarantine"))))
    got = [
        {"source": q.source, "file": q.file, "row": str(q.row), "reason": q.reason}
        for q in outcome.quarantined
    ]
    assert got == documented
    assert (outcome.read, len(outcome.records), outcome.values_dropped) == (4, 2, 1)
    amara, jayden = (r.values for r in outcome.records)
    assert (amara["person.given_name"], amara["person.middle_names"]) == ("Amara", "Grace")
    assert amara["person.family_name"].lower() == "okafor"
    assert amara["person.nhs_number"] == "9434765919"
    assert amara["school.urn"] == "512345" and amara["enrolment.from"] == dt.date(2025, 9, 1)
    assert "person.nhs_number" not in jayden
    assert (jayden["sen.primary_need"], jayden["sen.secondary_need"]) == ("SLCN", "HI")
    assert jayden["address.postcode"] == "NM1 1AA"
