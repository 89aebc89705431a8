"""The lifecycle on tiny-random: run → registered version → promote → log traffic + feedback → monitor →
retrain → gate → promote; a second retrain with no new feedback adds nothing; --no-promote leaves `staging`.
And the same loop through a live `honed serve NAME@production`: requests and feedback over HTTP, retrain, gate,
promote, and the server follows the promotion."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from servekit import live_server
from traffickit import log_feedback, log_request

from honed.cli import main
from honed.core.paths import honed_home
from honed.core.store import Store

FAST = ["evaluation.probes=false", "evaluation.perplexity=false", "evaluation.latency_samples=0",
        "evaluation.baselines=[zero_shot]", "evaluation.bootstrap_samples=100", "train.epochs=1",
        "monitor.embeddings=hashed", "monitor.permutations=20", "objective.target=0.0"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from projectkit import tiny_config_text, write_ticket_rows

    root = tmp_path_factory.mktemp("lifecycle")
    write_ticket_rows(root / "data.jsonl", per_label=15)
    name = f"life-{uuid.uuid4().hex[:6]}"
    (root / "honed.yaml").write_text(tiny_config_text().replace("project: tiny", f"project: {name}"))
    assert main(["run", str(root / "honed.yaml"), "--output", str(root / "v1"), *FAST]) == 0
    return root, name


def log_traffic(name: str, start: int, count: int) -> None:
    """Requests answered wrongly, each corrected by a user (deterministic ids: a stable held-out split)."""
    instruction = "Route the ticket: billing, shipping or login."
    with Store() as store:
        for i in range(start, start + count):
            messages = [{"role": "system", "content": instruction},
                        {"role": "user", "content": f"Hello, I was charged twice on invoice {i}, please fix it"}]
            rid = log_request(store.db, f"{name}@production", messages, "shipping", request_id=f"{name}-req-{i}")
            log_feedback(store.db, rid, -1, correction="billing", comment="this is a billing ticket")


def frozen_test_text(run_root) -> str:
    """The user text of one row of the production version's frozen test split."""
    from honed.monitor.traffic import last_user_text

    row = json.loads((run_root / "data" / "test.jsonl").read_text().splitlines()[0])
    return row["text"] if "text" in row else last_user_text(row["messages"])


def log_correction(name: str, text: str) -> None:
    """A corrected request whose id goes to training, not to the held-out slice (the split is by id hash)."""
    from honed.monitor.loop import is_heldout

    rid = next(f"{name}-leak-{i}" for i in range(100) if not is_heldout(f"{name}-leak-{i}", 0.2))
    with Store() as store:
        messages = [{"role": "system", "content": "Route the ticket: billing, shipping or login."},
                    {"role": "user", "content": text}]
        log_request(store.db, f"{name}@production", messages, "shipping", request_id=rid)
        log_feedback(store.db, rid, -1, correction="login")


def versions(name: str) -> list:
    with Store() as store:
        return store.model_versions(name)


def test_the_loop_retrains_gates_promotes_and_is_idempotent(project, capsys):
    root, name = project
    config = str(root / "honed.yaml")
    assert [(v["version"], v["kind"]) for v in versions(name)] == [(1, "train")]
    assert versions(name)[0]["report_path"] == str((root / "v1" / "report.json").resolve())
    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    log_traffic(name, 0, 12)
    leaked = frozen_test_text(root / "v1")
    log_correction(name, leaked)  # a user sends a message of the frozen test split, and corrects the answer
    capsys.readouterr()

    assert main(["monitor", "--model", f"{name}@production", "--since", "7d", "--json"]) == 0
    monitored = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in monitored["checks"]}
    assert checks["thumbs_down_rate"]["value"] == 1.0 and checks["thumbs_down_rate"]["drift"]
    assert "latency_p95_ms" in checks and monitored["drift"] is True

    first = root / "retrain-1"
    assert main(["retrain", config, "--output", str(first), "--json", *FAST, "evaluation.gate_tolerance=1.0"]) == 0
    outcome = _last_json(capsys, first)
    assert outcome["status"] == "promoted" and outcome["version"] == 2
    v2 = versions(name)[1]
    assert (v2["kind"], v2["parent_name"], v2["parent_version"]) == ("retrain", name, 1)
    with Store() as store:
        assert store.aliases(name)["production"] == 2
    train_rows = (first / "data" / "train.jsonl").read_text().splitlines()
    feedback_rows = (first / "feedback" / "sft.jsonl").read_text().splitlines()
    assert feedback_rows and any("invoice" in r for r in train_rows)  # old + new: the corrections are in
    report = json.loads((first / "report.json").read_text())
    assert report["lifecycle"]["status"] == "promoted" and report["lifecycle"]["parent"] == f"{name}:1"
    test_rows = (first / "data" / "test.jsonl").read_text().splitlines()
    frozen = (root / "v1" / "data" / "test.jsonl").read_text().splitlines()
    assert len(test_rows) >= len(frozen)  # the frozen test split (+ held-out feedback)
    assert leaked in (first / "feedback" / "sft.jsonl").read_text()  # the correction was a training candidate…
    assert not any(leaked in row for row in train_rows)  # …and never reached training: contamination dropped

    # No new feedback: nothing new at all (no run directory, version, dataset or consumed input).
    before = store_counts(name)
    assert main(["retrain", config, "--output", str(root / "retrain-2"), "--json", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "nothing_new"
    assert not (root / "retrain-2").exists() and len(versions(name)) == 2
    assert store_counts(name) == before

    # New feedback, --no-promote: the version waits at `staging` and its report says why.
    log_traffic(name, 100, 6)
    third = root / "retrain-3"
    assert main(["retrain", config, "--output", str(third), "--no-promote", "--json", *FAST]) == 0
    outcome = _last_json(capsys, third)
    assert outcome["status"] == "staging" and outcome["version"] == 3
    with Store() as store:
        assert store.aliases(name) == {"production": 2, "staging": 3}
    assert "--no-promote" in " ".join(json.loads((third / "report.json").read_text())["lifecycle"]["why"])


def store_counts(name: str) -> dict:
    """What a retrain adds to the store: versions, dataset versions, runs, consumed feedback."""
    with Store() as store:
        count = {table: store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                 for table in ("datasets", "runs", "reports")}
        return {**count, "versions": len(store.model_versions(name)), "consumed": len(store.consumed_inputs(name))}


def _last_json(capsys, output) -> dict:
    """The verb's JSON outcome is the last thing it printed (progress lines come before it)."""
    out = capsys.readouterr().out
    return json.loads(out[out.rindex("\n{") + 1:] if not out.startswith("{") else out)


def test_eval_takes_a_registry_reference(project, capsys):
    root, name = project
    out = root / "eval-by-ref"
    assert main(["eval", str(root / "honed.yaml"), "--run", f"{name}:1", "--output", str(out), *FAST]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "report.json")
    assert versions(name)[0]["report_path"] == str((out / "report.json").resolve())  # the newest report is the version's
    assert main(["eval", str(root / "honed.yaml"), "--run", f"{name}@nowhere", *FAST]) == 2
    assert "no alias `nowhere`" in capsys.readouterr().err


def test_export_takes_a_registry_reference(project, capsys):
    root, name = project
    out = root / "export-by-ref"
    assert main(["export", f"{name}:1", "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert main(["export", f"{name}:99"]) == 2
    assert "no version 99" in capsys.readouterr().err


def test_honed_train_registers_a_version_without_a_report(project):
    root, name = project
    before = len(versions(name))
    out = root / "trained"
    assert main(["train", str(root / "honed.yaml"), "--output", str(out), *FAST]) == 0
    latest = versions(name)[-1]
    assert len(versions(name)) == before + 1
    assert (latest["kind"], latest["report_path"], latest["run_dir"]) == ("train", None, str(out.resolve()))
    assert json.loads((out / "meta.json").read_text())["registry"] == {"name": name, "version": latest["version"]}


def test_the_loop_through_a_live_server_and_the_server_follows_the_promotion(project, capsys):
    """serve NAME@production → requests logged → feedback over HTTP → retrain → gate → promote → the running
    server answers with the new version; a second retrain finds nothing new."""
    root, name = project
    with Store() as store:
        if "production" not in store.aliases(name):  # this test alone: start from version 1
            main(["models", "promote", name, "1", "--alias", "production"])
    model, instruction = f"{name}@production", "Route the ticket: billing, shipping or login."
    with live_server([model], honed_home() / "honed.db", "--follow-interval", "0.3", "--no-ui") as (url, _):
        held = httpx.get(f"{url}/health").json()["following"][model]["version"]
        ids = [ask(url, model, instruction, f"I was billed twice for order {i}, refund me") for i in range(200, 210)]
        for rid in ids:
            feedback = {"id": rid, "rating": -1, "correction": "billing", "comment": "a billing ticket"}
            assert httpx.post(f"{url}/v1/feedback", json=feedback, timeout=30).status_code == 200
        with Store() as store:
            assert {store.request(rid)["version"] for rid in ids} == {held}
        out = root / "retrain-live"
        assert main(["retrain", str(root / "honed.yaml"), "--output", str(out), "--json", *FAST,
                     "evaluation.gate_tolerance=1.0"]) == 0
        outcome = _last_json(capsys, out)
        assert outcome["status"] == "promoted", outcome
        new = f"{name}:{outcome['version']}"
        assert new != held
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/health").json()["following"][model]["version"] != new:
            assert time.monotonic() < deadline, "the server did not follow the promotion"
            time.sleep(0.2)
        after = ask(url, model, instruction, "My parcel never arrived")
        with Store() as store:
            assert store.request(after)["version"] == new and store.request(after)["model"] == model
        before = store_counts(name)
        assert main(["retrain", str(root / "honed.yaml"), "--output", str(root / "retrain-live-2"), "--json",
                     *FAST]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "nothing_new"
        assert store_counts(name) == before


def ask(url: str, model: str, instruction: str, text: str) -> str:
    body = {"model": model, "max_tokens": 4, "temperature": 0,
            "messages": [{"role": "system", "content": instruction}, {"role": "user", "content": text}]}
    response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["id"]
