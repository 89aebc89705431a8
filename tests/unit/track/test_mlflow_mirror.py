"""The MLflow mirror's pieces without a server: what is sent (figures, params, tags), that secrets are not, and
that a tracker failing warns once and never stops training. The real server is in tests/e2e/test_mlflow_tracking.py."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mlflowkit import free_port

from honed.core.config import Config, validate_config
from honed.track import mlflow_mirror as mirror

REPORT = {
    "primary_metric": "accuracy",
    "candidates": {"zero_shot": {"accuracy": 0.25, "f1_macro": 0.1}, "fine_tuned": {"accuracy": 0.75, "n": 40}},
    "objective": {"metric": "accuracy", "target": 0.7, "best_candidate": "fine_tuned", "value": 0.75,
                  "passed": True, "fine_tuned_passed": True, "best_baseline": "zero_shot",
                  "delta_vs_best_baseline": 0.5},
    "verdict": {"text": "Fine-tuning wins.", "winner": "fine_tuned", "outcome": "fine_tune_wins"},
}


@dataclass
class FakeRun:
    """What the mirror reads of a RunDir."""

    path: Path
    run_id: str = "train-1"
    is_main: bool = True
    meta: dict = field(default_factory=lambda: {"kind": "train", "dataset_hash": "abc", "versions": {"torch": "2"}})

    def write_meta(self) -> None:
        (self.path / "meta.json").write_text(json.dumps(self.meta))


def test_report_figures_are_every_candidates_numbers_and_the_objective():
    figures = mirror.report_figures(REPORT)
    assert figures == {"zero_shot.accuracy": 0.25, "zero_shot.f1_macro": 0.1, "fine_tuned.accuracy": 0.75,
                       "fine_tuned.n": 40.0, "objective.passed": 1.0, "objective.fine_tuned_passed": 1.0,
                       "objective.value": 0.75, "objective.target": 0.7, "objective.delta_vs_best_baseline": 0.5}
    failed = {**REPORT, "objective": {**REPORT["objective"], "passed": False}}
    assert mirror.report_figures(failed)["objective.passed"] == 0.0


def test_report_tags_carry_the_verdict(tmp_path):
    tags = mirror.report_tags(REPORT, tmp_path / "report.json")
    assert tags["honed.verdict"] == "Fine-tuning wins." and tags["honed.verdict.winner"] == "fine_tuned"
    assert tags["honed.report"] == str((tmp_path / "report.json").resolve())


def test_params_are_the_flattened_config_with_key_names_never_their_values(monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "sk-do-not-send")
    cfg = validate_config({"project": "p", "evaluation": {"api_key_env": "MY_API_KEY"},
                           "train": {"report_to": ["mlflow"], "learning_rate": 0.01}})
    params = mirror.config_params(cfg)
    assert params["evaluation.api_key_env"] == "MY_API_KEY"
    assert params["train.learning_rate"] == "0.01" and params["train.report_to"] == '["mlflow"]'
    assert "project" not in params, "the Trainer's callback logs its own `project` param into the same run"
    assert all("sk-do-not-send" not in value for value in params.values())
    assert len(params) > 100, "every leaf of the config (more than one MLflow batch)"


def test_run_tags_name_the_honed_run(tmp_path):
    tags = mirror.run_tags(Config(project="p"), FakeRun(tmp_path))
    assert tags["honed.run_id"] == "train-1" and tags["honed.dataset_hash"] == "abc"
    assert tags["honed.version.torch"] == "2" and tags["honed.project"] == "p"
    assert "mlflow.source.git.commit" not in tags, "no commit known: no empty tag"


def test_credentials_in_the_tracking_uri_are_stripped(capsys):
    cfg = validate_config({"tracking": {"mlflow_uri": "https://user:hunter2@mlflow.example.com"}})
    assert cfg.tracking.mlflow_uri == "https://mlflow.example.com"
    assert "hunter2" not in capsys.readouterr().err
    assert validate_config({"tracking": {"mlflow_uri": ""}}).tracking.mlflow_uri is None


def test_the_mirror_is_off_unless_the_config_asks():
    assert not mirror.mirror_wanted(Config())
    assert mirror.mirror_wanted(validate_config({"train": {"report_to": ["mlflow"]}}))
    assert mirror.mirror_wanted(validate_config({"tracking": {"mlflow_uri": "http://127.0.0.1:5000"}}))


def test_off_training_gets_its_config_untouched(tmp_path):
    cfg = Config()
    with mirror.training(cfg, FakeRun(tmp_path)) as tracked:
        assert tracked is cfg


def test_a_failing_tracker_warns_once_and_is_then_left_alone(capsys):
    calls = []

    def refuse():
        calls.append(1)
        raise ConnectionError("connection refused\nsecond line")

    uri = f"http://127.0.0.1:{free_port()}/unit-test"
    assert mirror._guarded(uri, "log", refuse) is None
    assert mirror._guarded(uri, "log", refuse) is None
    err = capsys.readouterr().err
    assert len(calls) == 1 and err.count("warning: MLflow at") == 1
    assert "connection refused" in err and "second line" not in err


def test_an_unreachable_server_leaves_the_callback_out(tmp_path, capsys):
    """Training must never depend on the tracker: transformers' MLflowCallback would fail on a dead server."""
    pytest.importorskip("mlflow", reason="the MLflow client is not installed (pip install mlflow-skinny)")
    nowhere = f"http://127.0.0.1:{free_port()}"
    cfg = validate_config({"train": {"report_to": ["mlflow", "tensorboard"]}, "tracking": {"mlflow_uri": nowhere}})
    run = FakeRun(tmp_path)
    with mirror.training(cfg, run) as tracked:
        assert tracked.train.report_to == ["tensorboard"]
    assert cfg.train.report_to == ["mlflow", "tensorboard"], "the caller's config is not changed"
    assert "mlflow" not in run.meta
    assert capsys.readouterr().err.count(f"warning: MLflow at {nowhere}") == 1


def test_the_alias_moves_where_the_target_was_mirrored_and_is_deleted_elsewhere(monkeypatch):
    """An MLflow alias must never keep pointing at a version honed's alias has left."""
    moves = []
    monkeypatch.setattr(mirror, "_set_alias", lambda uri, model, alias, v: moves.append(("set", uri, alias, v)))
    monkeypatch.setattr(mirror, "_delete_alias", lambda uri, model, alias: moves.append(("delete", uri, alias)))
    a1 = {"tracking_uri": "http://a", "model": "m", "version": 1}
    a2 = {"tracking_uri": "http://a", "model": "m", "version": 2}
    b1 = {"tracking_uri": "http://b", "model": "m", "version": 1}
    mirror.mirror_alias("production", a2, [a1, a2, b1])
    assert moves == [("set", "http://a", "production", 2), ("delete", "http://b", "production")]
    moves.clear()
    mirror.mirror_alias("production", None, [a1, a2])  # the new holder was trained without tracking
    assert moves == [("delete", "http://a", "production")]


@pytest.mark.parametrize(("raised", "status"), [(RuntimeError("out of memory"), "FAILED"),
                                                (KeyboardInterrupt(), "KILLED")])
def test_a_training_that_stops_marks_its_mlflow_run(raised, status, tmp_path, monkeypatch):
    """Never left RUNNING in MLflow, and the error still reaches the caller."""
    pytest.importorskip("mlflow", reason="the MLflow client is not installed (pip install mlflow-skinny)")
    info = {"tracking_uri": "http://unit-test-tracker", "run_id": "r1", "experiment_id": "1"}
    ended = []
    monkeypatch.setattr(mirror, "start_run", lambda cfg, run: info)
    monkeypatch.setattr(mirror, "_terminate", lambda info, status: ended.append(status))
    cfg = validate_config({"tracking": {"mlflow_uri": info["tracking_uri"]}})
    with pytest.raises(type(raised)):
        with mirror.training(cfg, FakeRun(tmp_path)) as tracked:
            assert tracked.train.report_to == ["mlflow"], "the callback logs the curves into the same run"
            assert mirror.os.environ["MLFLOW_RUN_ID"] == "r1"
            raise raised
    assert ended == [status]
    assert "MLFLOW_RUN_ID" not in mirror.os.environ, "the environment is restored"
