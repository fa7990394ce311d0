"""Settings choose the engine; bad settings say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph import EngineUnavailable, SettingsError, load_settings, open_store


def test_default_is_embedded_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("JIGSAW_GRAPH_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.engine == "embedded"
    assert settings.embedded_dir == (tmp_path / "data" / "graph").resolve()


def test_settings_cannot_be_changed_once_read(monkeypatch, tmp_path):
    """The app shares one settings object between sessions: none of them can change it."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(max_rows=77)
    with pytest.raises(ValueError, match="frozen"):
        settings.max_rows = 5
    assert settings.max_rows == 77


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("neo4j://db.example:7687", "neo4j"),
        ("bolt+s://db.example:7687", "neo4j"),
        ("falkordb://localhost:6379", "falkordb"),
        ("embedded:///var/lib/jigsaw", "embedded"),
        ("/var/lib/jigsaw", "embedded"),
    ],
)
def test_url_picks_engine(url, engine):
    assert load_settings(graph_url=url).engine == engine


def test_env_and_toml_file(monkeypatch, tmp_path):
    config = tmp_path / "jigsaw.toml"
    config.write_text('graph_url = "neo4j://from-file:7687"\nmax_rows = 77\n')
    monkeypatch.setenv("JIGSAW_CONFIG", str(config))
    monkeypatch.delenv("JIGSAW_GRAPH_URL", raising=False)
    settings = load_settings()
    assert (settings.graph_url, settings.max_rows) == ("neo4j://from-file:7687", 77)
    monkeypatch.setenv("JIGSAW_GRAPH_URL", "bolt://from-env:7687")
    assert load_settings().graph_url == "bolt://from-env:7687"


def test_password_never_printed():
    settings = load_settings(graph_url="neo4j://user:secret@db:7687", neo4j_password="pw")
    assert "secret" not in settings.redacted_url()
    assert "pw" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"graph_url": "mysql://x"}, "unknown engine scheme 'mysql'"),
        ({"max_rows": 0}, "JIGSAW_MAX_ROWS"),
        ({"embedded_fsync": "never"}, "JIGSAW_EMBEDDED_FSYNC"),
    ],
)
def test_bad_settings_are_explained(overrides, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(**overrides)


def test_neo4j_without_password_is_explained():
    with pytest.raises(EngineUnavailable, match="JIGSAW_NEO4J_PASSWORD"):
        open_store(load_settings(graph_url="neo4j://localhost:1"))


def test_unreachable_neo4j_is_explained():
    settings = load_settings(graph_url="bolt://127.0.0.1:1", neo4j_password="x")
    with pytest.raises(EngineUnavailable, match=r"cannot reach Neo4j at bolt://127\.0\.0\.1:1"):
        open_store(settings)


def test_unwritable_embedded_dir_is_explained(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EngineUnavailable, match="embedded graph directory"):
        open_store(load_settings(graph_url=str(blocker / "graph")))
