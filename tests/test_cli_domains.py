"""Domains add their commands to the CLI through the ``cetate.domains`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import typer
from typer.testing import CliRunner

from cetate.cli import add_domain_commands, app
from cetate.store.base import EntityQuery, open_store

GROUP = "cetate.domains"


def test_the_installed_environment_domain_adds_its_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "environment",
            "simulate",
            "--tenant",
            "constanta",
            "--database-url",
            url,
            "--stations",
            "2",
            "--hours",
            "3",
            "--faulty",
            "0",
            "--gap-rate",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 stations" in result.output
    store = open_store(url)
    try:
        found = store.query_entities("constanta", EntityQuery(limit=100))
        assert len(found.entities) == 2
    finally:
        store.close()
    bad = runner.invoke(
        app,
        ["environment", "simulate", "--tenant", "x", "--database-url", url, "--city", "atlantis"],
    )
    assert bad.exit_code == 2
    assert "unknown city 'atlantis'" in bad.output


def test_a_broken_domain_is_skipped_with_a_warning_and_the_others_load() -> None:
    root = typer.Typer()
    eps = [
        EntryPoint(name="broken", value="cetate.no_such_module:thing", group=GROUP),
        EntryPoint(name="citizens", value="cetate.domains.citizens:console_domain", group=GROUP),
        EntryPoint(name="environment", value="cetate.domains.environment", group=GROUP),
    ]
    added = add_domain_commands(root, eps)
    # citizens has no commands; environment has; the broken one did not stop them
    assert added == ["environment"]
    assert [group.name for group in root.registered_groups] == ["environment"]
