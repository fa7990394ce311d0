"""The package a council installs works, and its declarations cannot drift.

One test builds the wheel, installs it with the locked dependencies into a fresh
virtual environment outside the source tree, and runs ``jigsaw`` from there, as a user
would. The others compare what pyproject, the Dockerfile and the code each say about
what is shipped and what it needs, all derived, nothing listed twice.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from tests.shipping import (
    ROOT,
    declared_dependencies,
    dockerfile_commands,
    dockerfile_copies,
    entry_point_packages,
    first_party,
    first_party_closure,
    shipped_packages,
    third_party_imports,
)
from ui.cli import app

# -- declarations ----------------------------------------------------------------------


def test_wheel_ships_every_package_the_cli_imports():
    shipped = set(shipped_packages())
    needed = first_party_closure(entry_point_packages())
    assert needed <= shipped, f"imported by the CLI but not in the wheel: {needed - shipped}"
    reached = first_party_closure(shipped)
    assert reached <= shipped, f"imported by shipped code but not shipped: {reached - shipped}"


# Top-level packages that are deliberately not installed: they run from a source tree.
NOT_SHIPPED = {"tests", "benchmarks"}


def test_every_top_level_package_is_shipped_or_said_not_to_be():
    unaccounted = first_party() - set(shipped_packages()) - NOT_SHIPPED
    assert not unaccounted, f"add to the wheel's packages in pyproject.toml: {unaccounted}"


def test_image_copies_every_package_the_wheel_ships():
    copied = dockerfile_copies()
    missing = set(shipped_packages()) - copied
    assert not missing, f"Dockerfile does not COPY {sorted(missing)}"
    # what `uv sync` needs to build the project in the image
    assert {"pyproject.toml", "uv.lock", "README.md"} <= copied


def test_image_start_commands_exist():
    commands = dockerfile_commands()
    assert commands, "the Dockerfile's CMD runs no jigsaw command"
    for args in commands:
        # --help after the options: an unknown option or command still fails first
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"jigsaw {' '.join(args)}: {result.output}"


def test_the_command_line_starts_without_the_heavy_libraries():
    """pandas, DuckDB, Splink, Faker and Streamlit take seconds to import: only the
    commands that use them may pay for them, not ``jigsaw --help``."""
    heavy = ["pandas", "duckdb", "splink", "faker", "streamlit"]
    probe = f"import sys, ui.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"imported by ui.cli: {out.stdout}"


def test_every_third_party_import_is_declared():
    distributions = importlib.metadata.packages_distributions()
    declared = declared_dependencies()
    problems = []
    for module, files in sorted(third_party_imports().items()):
        names = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not names:
            problems.append(f"{module} (imported by {sorted(files)[0]}) is not installed")
        elif not names & set(declared):
            problems.append(f"{module} (imported by {sorted(files)[0]}): declare {sorted(names)}")
    assert not problems, problems


# Dependencies the code needs without importing them, each with the reason.
USED_WITHOUT_IMPORT = {
    # FastAPI reads form fields (the API's token endpoint) with it, and only says so
    # when a form arrives; newer Streamlits happen to install it, older ones do not
    "python-multipart",
    # uvicorn picks up the faster HTTP parser and event loop when installed (the
    # exchange API's throughput, benchmarks/README.md), and never imports them by name
    "httptools",
    "uvloop",
}


def test_every_declared_dependency_is_imported():
    distributions = importlib.metadata.packages_distributions()
    modules = third_party_imports()
    used = {canonicalize_name(d) for m in modules for d in distributions.get(m, [])}
    unused = set(declared_dependencies()) - used - USED_WITHOUT_IMPORT
    assert not unused, f"declared but imported nowhere in the shipped code: {sorted(unused)}"


def test_every_dependency_has_a_lower_bound():
    for name, requirement in declared_dependencies().items():
        assert any(s.operator in (">=", "==", "~=") for s in requirement.specifier), name


# -- the wheel, installed as a user installs it ---------------------------------------


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points at the source tree, its venv or a
    developer's own Jigsaw settings."""
    skip = ("VIRTUAL_ENV", "PYTHON", "JIGSAW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    env.update(extra)
    return env


def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is needed to build and install the wheel (./test.sh installs it)"
    started = time.perf_counter()
    env = _clean_env()
    dist, venv, home = tmp_path / "dist", tmp_path / "venv", tmp_path / "home"
    home.mkdir()

    _run([uv, "build", "--wheel", "--out-dir", dist, "--quiet"], cwd=ROOT, env=env)
    (wheel,) = dist.glob("jigsaw-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == set(shipped_packages())
    tracked = subprocess.run(
        ["git", "ls-files", *shipped_packages()], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    missing = sorted(set(tracked) - set(names))
    assert not missing, f"tracked files the wheel leaves out: {missing}"
    built = time.perf_counter()

    # the locked versions, from uv's cache (the embedded engine is not built again)
    requirements = tmp_path / "requirements.txt"
    _run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--quiet",
            "--output-file",
            requirements,
        ],
        cwd=ROOT,
        env=env,
    )
    _run([uv, "venv", venv, "--python", sys.executable, "--quiet"], cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "--python", python, "--quiet", "-r", requirements, wheel],
        cwd=tmp_path,
        env=env,
    )
    installed = time.perf_counter()

    user = _clean_env(JIGSAW_DATA_DIR=str(home / "data"), VIRTUAL_ENV=str(venv))
    probe = (
        "import json, sys, ui, graph; print(json.dumps([sys.path, ui.__file__, graph.__file__]))"
    )
    where = json.loads(_run([python, "-c", probe], cwd=home, env=user))
    assert not any(str(ROOT) in p for p in where[0] if p), where[0]
    assert all(str(venv) in f for f in where[1:]), where[1:]

    jigsaw = venv / "bin" / "jigsaw"
    assert "Usage" in _run([jigsaw, "--help"], cwd=home, env=user)
    # a tiny county: generated, loaded through the shipped mappings, accounts made
    out = _run([jigsaw, "demo", "--children", "30", "--no-serve"], cwd=home, env=user)
    assert "| **total** |" in out and "Demo accounts" in out, out
    status = json.loads(_run([jigsaw, "db", "status", "--json"], cwd=home, env=user))
    assert status["labels"]["Child"] > 0, status
    done = time.perf_counter()
    print(
        f"wheel: build {built - started:.1f} s, install {installed - built:.1f} s, "
        f"run {done - installed:.1f} s"
    )
