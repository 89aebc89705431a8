"""Helpers for workbench tests: a store with accounts and battles, a logged-in TestClient, the CSRF token."""
from __future__ import annotations

import json
import re
from pathlib import Path

PASSWORD = "correct horse battery"


def write_battles(path: Path, n: int, models=("base-model-x", "tuned-model-y"), prompt="Question {i}?") -> Path:
    rows = [{"prompt": prompt.format(i=i), "answers": {models[0]: f"first reply to {i}",
                                                       models[1]: f"second reply to {i}"}}
            for i in range(n)]  # the answers never name their model: the page must not either
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_workbench(tmp_path: Path, *, upstream: str | None = None):
    from honed.core.store import Store
    from honed.web.app import WorkbenchOptions, create_workbench
    from honed.web.auth import add_user

    db = tmp_path / "honed.db"
    with Store(db) as store:
        add_user(store, "rita", PASSWORD, "reviewer")
        add_user(store, "ada", PASSWORD, "admin")
    return create_workbench(WorkbenchOptions(db=db, home=tmp_path, upstream=upstream)), db


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, name: str = "rita") -> str:
    """Log in through the form; returns the fresh session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token, "next": "/review"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/review").text)


def fake_version(store, tmp_path: Path, name: str, values: dict) -> int:
    """A registered version of `name` whose report holds `values` (no training: the gate reads the report)."""
    import uuid

    from honed.registry import register_run

    run_id = f"train-{uuid.uuid4().hex[:8]}"
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    report = {"task": "classification", "primary_metric": "accuracy", "objective": {"metric": "accuracy",
              "target": 0.5}, "candidates": {"fine_tuned": values}, "gate": {"tolerance": 0.01}}
    (run_dir / "report.json").write_text(json.dumps(report))
    store.start_run(run_id, "train", name, str(run_dir), {})
    store.finish_run(run_id)
    return register_run(store, name, run_id, run_dir, report_path=run_dir / "report.json", report=report)
