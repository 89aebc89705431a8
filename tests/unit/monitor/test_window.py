"""`honed monitor --model NAME@ALIAS`: the request log's window against the training data, kept as the model's
latest drift status where the web dashboard reads it."""
from __future__ import annotations

import json
import uuid

from projectkit import tiny_config_text
from traffickit import log_request, ticket_traffic, write_rows

from honed.cli import main
from honed.core.paths import honed_home
from honed.core.store import Store
from honed.registry import promote, register_run
from honed.web.dashboard import drift_status

ASK = "Route the ticket: billing, shipping or login."


def registered_model(tmp_path) -> str:
    """A version whose run directory holds its prepared training split and config (hashed features: fast)."""
    name = f"mon-{uuid.uuid4().hex[:6]}"
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "data" / "dataset.json").write_text("{}")
    write_rows(run_dir / "data" / "train.jsonl", ticket_traffic(60, seed=1))
    (run_dir / "config.yaml").write_text(tiny_config_text() + "monitor: {embeddings: hashed, permutations: 20}\n")
    with Store() as store:
        register_run(store, name, f"run-{name}", run_dir)
        promote(store, name, 1, "production", force=True)
    return name


def test_monitor_writes_the_dashboards_drift_status_atomically(tmp_path, capsys):
    name = registered_model(tmp_path)
    with Store() as store:  # off-topic traffic, three times longer: input drift
        for row in ticket_traffic(40, seed=2, longer=3, off_topic=True):
            log_request(store.db, f"{name}@production", [{"role": "system", "content": ASK},
                                                          {"role": "user", "content": row["text"]}], row["label"])
    assert main(["monitor", "--model", f"{name}@production", "--since", "1d"]) == 0
    saved = honed_home() / "monitor" / name / "drift.json"
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(saved)
    report = json.loads(saved.read_text())
    assert report["model"] == f"{name}@production" and report["drift"] is True
    assert (saved.parent / "drift.html").is_file()
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]  # no temporary file left behind

    [status] = [s for s in drift_status(honed_home()) if s["model"] == name]
    drifted = [c["name"] for c in report["checks"] if c["drift"]]
    assert status["drift"] is True and status["checks"] == drifted and drifted
    assert status["recommendation"] == report["recommendation"]


def test_monitor_json_output_stays_one_document(tmp_path, capsys):
    name = registered_model(tmp_path)
    with Store() as store:
        for row in ticket_traffic(30, seed=3):
            log_request(store.db, f"{name}@production", [{"role": "user", "content": row["text"]}], row["label"])
    assert main(["monitor", "--model", f"{name}@production", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((honed_home() / "monitor" / name / "drift.json").read_text())
