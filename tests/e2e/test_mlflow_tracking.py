"""Tracking in MLflow against a real `mlflow server` on loopback (issue 13, item 4): a tiny-random `honed run`
is one MLflow run with the resolved config, the report's metrics and files, and the training curves; each honed
version is an MLflow model version and MLflow's alias follows promote and rollback; nothing secret reaches the
server; an unreachable server warns once and the run still succeeds. Skips when no server binary is installed."""
from __future__ import annotations

import contextlib
import io
import json
import uuid

import pytest
from mlflowkit import QUIET, free_port, server_files, start_server, stop_server

from honed.cli import main

pytest.importorskip("mlflow", reason="the MLflow client is not installed (pip install mlflow-skinny)")

FAST = ["evaluation.probes=false", "evaluation.perplexity=false", "evaluation.latency_samples=0",
        "evaluation.baselines=[zero_shot]", "evaluation.bootstrap_samples=100", "train.max_steps=4",
        "objective.target=0.0"]
SECRET = f"sk-honed-test-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mlflow-server")
    uri, process = start_server(directory)
    yield uri, directory
    stop_server(process)


@pytest.fixture(scope="module")
def tracked(server, tmp_path_factory):
    """Version 1: `honed run` with tracking.mlflow_uri. Version 2: `honed train` with only
    `train.report_to: [mlflow]` and $MLFLOW_TRACKING_URI. An API key sits in the environment throughout."""
    from projectkit import tiny_config_text, write_ticket_rows

    uri, _ = server
    root = tmp_path_factory.mktemp("tracked")
    write_ticket_rows(root / "data.jsonl", per_label=10)
    name = f"track-{uuid.uuid4().hex[:6]}"
    config = root / "honed.yaml"
    config.write_text(tiny_config_text().replace("project: tiny", f"project: {name}"))
    with pytest.MonkeyPatch.context() as env:
        for key, value in {**QUIET, "OPENAI_API_KEY": SECRET}.items():
            env.setenv(key, value)
        assert main(["run", str(config), "--output", str(root / "v1"), f"tracking.mlflow_uri={uri}", *FAST]) == 0
        env.setenv("MLFLOW_TRACKING_URI", uri)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(["train", str(config), "--output", str(root / "v2"), "train.report_to=[mlflow]",
                         "train.max_steps=2"]) == 0
    # MLflow's "View run at …" lines must not follow: a verb's last stdout line is its path
    assert out.getvalue().strip().splitlines()[-1] == str(root / "v2")
    return root, name


def client_for(uri):
    from mlflow import MlflowClient

    return MlflowClient(uri)


def mlflow_run_of(client, name: str, run_dir):
    """The MLflow run tagged with the honed run id of `run_dir` (found by search, not by honed's own record)."""
    honed_id = json.loads((run_dir / "meta.json").read_text())["run_id"]
    experiment = client.get_experiment_by_name(name)
    found = client.search_runs([experiment.experiment_id], f"tags.`honed.run_id` = '{honed_id}'")
    assert len(found) == 1, f"one MLflow run per honed run, found {len(found)}"
    return found[0]


@pytest.mark.slow  # the shared fixture starts a server and runs `honed run` + `honed train`
def test_a_run_is_mirrored_with_config_metrics_curves_and_files(server, tracked, tmp_path):
    uri, _ = server
    root, name = tracked
    client = client_for(uri)
    mirrored = mlflow_run_of(client, name, root / "v1" / "run")
    report = json.loads((root / "v1" / "report.json").read_text())
    data = mirrored.data
    assert mirrored.info.status == "FINISHED"
    assert data.params["train.max_steps"] == "4" and data.params["model.base"] == "tiny-random"
    assert data.tags["honed.dataset_hash"] == report["dataset_hash"]
    for candidate, metrics in report["candidates"].items():
        for metric, value in metrics.items():
            assert data.metrics[f"{candidate}.{metric}"] == pytest.approx(value), f"{candidate}.{metric}"
    assert data.metrics["objective.passed"] == float(report["objective"]["passed"])
    assert data.tags["honed.verdict"] == report["verdict"]["text"]
    curve = client.get_metric_history(mirrored.info.run_id, "loss")  # from transformers' MLflowCallback
    assert len(curve) >= 1 and all(point.step >= 1 for point in curve)
    files = {a.path for a in client.list_artifacts(mirrored.info.run_id, "honed")}
    assert files == {"honed/report.json", "honed/report.html", "honed/meta.json", "honed/adapter"}
    adapter = {a.path for a in client.list_artifacts(mirrored.info.run_id, "honed/adapter")}
    assert {"honed/adapter/adapter_config.json", "honed/adapter/adapter_model.safetensors"} <= adapter
    weights = client.download_artifacts(mirrored.info.run_id, "honed/adapter/adapter_model.safetensors",
                                        str(tmp_path))
    assert open(weights, "rb").read() == (root / "v1" / "run" / "adapter" / "adapter_model.safetensors").read_bytes()
    copy = client.download_artifacts(mirrored.info.run_id, "honed/report.json", str(tmp_path))
    assert json.loads(open(copy).read()) == report


@pytest.mark.slow
def test_each_version_is_an_mlflow_model_version(server, tracked):
    uri, _ = server
    root, name = tracked
    client = client_for(uri)
    versions = {int(v.tags["honed.version"]): v for v in client.search_model_versions(f"name='{name}'")}
    assert sorted(versions) == [1, 2]
    for honed_version, run_dir in ((1, root / "v1" / "run"), (2, root / "v2")):
        mirrored = mlflow_run_of(client, name, run_dir)
        assert versions[honed_version].run_id == mirrored.info.run_id
        assert versions[honed_version].source == f"runs:/{mirrored.info.run_id}/honed"
    second = mlflow_run_of(client, name, root / "v2")
    assert second.data.params["train.report_to"] == '["mlflow"]' and second.info.status == "FINISHED"
    assert client.get_metric_history(second.info.run_id, "loss"), "report_to alone also mirrors the curves"


@pytest.mark.slow
def test_the_mlflow_alias_follows_promote_and_rollback(server, tracked, capsys):
    uri, _ = server
    _, name = tracked
    client = client_for(uri)
    by_honed = {int(v.tags["honed.version"]): v.version for v in client.search_model_versions(f"name='{name}'")}

    def holder() -> int:
        return int(client.get_model_version_by_alias(name, "production").version)

    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    assert holder() == int(by_honed[1])
    assert main(["models", "promote", name, "2", "--alias", "production", "--force"]) == 0  # v2 has no report
    assert holder() == int(by_honed[2])
    assert main(["models", "rollback", name, "--alias", "production"]) == 0
    assert holder() == int(by_honed[1])
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_no_secret_reaches_the_server(server, tracked):
    _, directory = server
    stored = server_files(directory)
    assert "OPENAI_API_KEY" in stored, "the scan sees params (the key's variable name is a param)"
    assert SECRET not in stored


def test_an_unreachable_server_warns_once_and_the_run_succeeds(tiny_project, tmp_path, capsys, monkeypatch):
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    out = tmp_path / "run"
    assert main(["train", str(tiny_project), "--output", str(out), f"tracking.mlflow_uri={nowhere}",
                 "train.max_steps=2"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count(f"warning: MLflow at {nowhere}") == 1, captured.err
    assert captured.out.strip().splitlines()[-1] == str(out)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "finished" and "mlflow" not in meta
