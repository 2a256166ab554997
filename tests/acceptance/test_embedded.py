"""The embedded server as a new user meets it: demo, start, url, check, stop."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.conftest import console_script

pytestmark = pytest.mark.embedded


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALGRAPH_")}
    env["SIGNALGRAPH_HOME"] = str(home)
    return subprocess.run(
        [str(console_script()), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=180,
    )


def test_demo_then_server_lifecycle(tmp_path: Path) -> None:
    home = tmp_path / "h"
    status = run(home, "server", "status", "--json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["running"] is False

    demo = run(home, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    report = json.loads(demo.stdout)
    assert {w["name"] for w in report["workspaces"]} == {"default", "demo"}
    assert report["database"]["embedded"] is True
    # The dossier a new user sees has facts, relations, lists and annotations.
    dossier = report["dossier"]
    assert {"headcount", "revenue", "momentum_score"} <= set(dossier["facts"])
    assert dossier["facts"]["revenue"]["source"] == "harmonic"
    assert {r["predicate"] for r in dossier["relations"]} >= {"works_at"}
    assert [item["name"] for item in dossier["lists"]] == ["Deal flow"]
    assert dossier["annotations"]["stage"] == "Diligence"
    assert len(dossier["annotations"]["comments"]) == 1
    assert report["facts"]["counters"]["rejected"] == 0
    assert report["relations"]["counters"]["rejected"] == 0
    assert len(report["momentum_percentiles"]) == 5
    # The demo started the server for itself and stopped it on the way out.
    assert json.loads(run(home, "server", "status", "--json").stdout)["running"] is False

    again = run(home, "demo")
    assert again.returncode == 0, again.stderr
    assert "newswire" in again.stdout
    assert "Strong founding team" in again.stdout
    twice = json.loads(run(home, "demo", "--json").stdout)
    # Running it again adds nothing: same statements, same single comment.
    assert twice["facts"]["counters"]["inserted"] == 0
    assert len(twice["dossier"]["annotations"]["comments"]) == 1

    started = run(home, "server", "start", "--json")
    assert started.returncode == 0, started.stderr
    url = json.loads(started.stdout)["url"]
    check = run(home, "db", "check", "--json")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["schema"]["at_head"] is True
    # `server start` keeps it running after other commands exit.
    assert json.loads(run(home, "server", "status", "--json").stdout)["running"] is True
    assert run(home, "server", "url").stdout.strip() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM signalgraph.workspace").fetchone() == (2,)

    stopped = run(home, "server", "stop", "--json")
    assert json.loads(stopped.stdout) == {"stopped": True}
    assert json.loads(run(home, "server", "status", "--json").stdout)["running"] is False
    missing_url = run(home, "server", "url")
    assert missing_url.returncode == 1
    assert "not running" in missing_url.stderr
