"""honed mirrored to an MLflow tracking server: one MLflow run per honed run, a registered model version per
honed version, and MLflow's model aliases following honed's promote / rollback.

On when the config sets `tracking.mlflow_uri`, or has `mlflow` in `train.report_to` (then $MLFLOW_TRACKING_URI
or MLflow's default). What is sent: the resolved config flattened (params: it holds the *names* of API-key
variables, never a value from the environment), honed's ids and package versions (tags), the report's candidate
metrics and the verdict (metrics and tags), and report.json, report.html and meta.json (artifacts).
Training curves come from transformers' own MLflowCallback, pointed at the same MLflow run.

honed's store stays the source of truth. Nothing here may fail a run: the first failure to reach a server warns
once and the mirror leaves that server alone for the rest of the command.
"""
from __future__ import annotations

import json
import os
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from honed.core.config import Config, redact_urls
from honed.core.errors import HonedError
from honed.core.progress import console

ARTIFACT_DIR = "honed"  # honed's files inside an MLflow run's artifacts; a model version's source points here
# A tracker that went away must cost seconds, not MLflow's default of 7 retries with backoff (~4 minutes a call);
# the "View run at" lines MLflow prints would break the CLI's rule that a verb's last stdout line is its path.
CLIENT_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                   "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
HEALTH_TIMEOUT_S = 5
_CLIENTS: dict = {}  # tracking URI → MlflowClient, probed once per process
_DOWN: set[str] = set()  # URIs that failed once in this process: warned about, then left alone


def mirror_wanted(cfg: Config) -> bool:
    return bool(cfg.tracking.mlflow_uri) or "mlflow" in cfg.train.report_to


def tracking_uri(cfg: Config) -> str:
    """`tracking.mlflow_uri`, else $MLFLOW_TRACKING_URI, else MLflow's own default."""
    if cfg.tracking.mlflow_uri:
        return cfg.tracking.mlflow_uri
    import mlflow

    return mlflow.get_tracking_uri()


def require_mlflow() -> None:
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise HonedError("tracking to MLflow is on (`tracking.mlflow_uri` or `train.report_to: [mlflow]`), but the "
                         "`mlflow` package is not installed",
                         "run `pip install mlflow-skinny` (the client is enough), or turn tracking off")


# --- runs --------------------------------------------------------------------------------------------------------


def start_run(cfg: Config, run) -> dict | None:
    """The MLflow run mirroring honed's `run` (a RunDir): created once, kept in meta.json["mlflow"], so a resumed
    or later evaluated run logs to the same one. None when the server cannot be reached."""
    if run.meta.get("mlflow"):
        return run.meta["mlflow"]
    require_mlflow()
    uri = tracking_uri(cfg)
    created = _guarded(uri, "start a run", _create_run, uri, cfg, run)
    if created:
        run.meta["mlflow"] = created
        run.write_meta()
    return created


def _create_run(uri: str, cfg: Config, run) -> dict:
    client = _client(uri)
    name = cfg.tracking.experiment or cfg.project
    experiment_id = _experiment_id(client, name)
    created = client.create_run(experiment_id, run_name=run.run_id, tags=run_tags(cfg, run))
    run_id = created.info.run_id
    _log_batches(client, run_id, params=config_params(cfg))
    console.print(f"[dim]mlflow[/] run {run_id} in experiment `{name}` at {redact_urls(uri)}", highlight=False)
    return {"tracking_uri": uri, "experiment_id": experiment_id, "run_id": run_id}


def _experiment_id(client, name: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:  # another process created it meanwhile
        return client.get_experiment_by_name(name).experiment_id


def run_tags(cfg: Config, run) -> dict[str, str]:
    meta = run.meta
    tags = {"honed.run_id": run.run_id, "honed.kind": meta.get("kind"), "honed.project": cfg.project,
            "honed.dataset_hash": meta.get("dataset_hash"), "honed.run_dir": str(Path(run.path).resolve()),
            "honed.base_model": cfg.model.base, "honed.seed": meta.get("seed"),
            "mlflow.source.git.commit": meta.get("git_commit")}
    tags.update({f"honed.version.{name}": v for name, v in (meta.get("versions") or {}).items()})
    return {k: str(v) for k, v in tags.items() if v is not None}


def config_params(cfg: Config) -> dict[str, str]:
    """The resolved config, flattened (`train.learning_rate`, …). The top-level `project` is a tag instead: the
    Trainer's MLflowCallback logs a `project` parameter of its own into the same run, and MLflow params never change."""
    flat = _flatten(cfg.model_dump(mode="json"))
    flat.pop("project", None)
    return {key: json.dumps(v) if isinstance(v, list | dict) else str(v) for key, v in flat.items()}


def _flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@contextmanager
def training(cfg: Config, run):
    """Around training: the MLflow run exists first and transformers' MLflowCallback logs the curves into it
    (MLFLOW_RUN_ID). Yields the config to train with: with the callback when the server answered, without it when
    it did not (so training never depends on the tracker). A failed training marks the MLflow run FAILED (KILLED
    on Ctrl-C)."""
    if not (run.is_main and mirror_wanted(cfg)):
        yield cfg
        return
    info = start_run(cfg, run)
    if info is None:
        yield _with_report_to(cfg, mlflow=False)
        return
    env = {"MLFLOW_TRACKING_URI": info["tracking_uri"], "MLFLOW_RUN_ID": info["run_id"]}
    try:
        with _environment(env):
            yield _with_report_to(cfg, mlflow=True)
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt | SystemExit) else "FAILED"
        _end_fluent_run(info["run_id"], status)
        _guarded(info["tracking_uri"], "mark the run stopped", _terminate, info, status)
        raise
    _guarded(info["tracking_uri"], "log meta.json", _log_files, info, [Path(run.path) / "meta.json"])


def _with_report_to(cfg: Config, *, mlflow: bool) -> Config:
    trackers = [t for t in cfg.train.report_to if t != "mlflow"] + (["mlflow"] if mlflow else [])
    if trackers == list(cfg.train.report_to):
        return cfg
    changed = cfg.model_copy(deep=True)
    changed.root = cfg.root
    changed.train.report_to = trackers
    return changed


def _end_fluent_run(run_id: str, status: str) -> None:
    """The callback's run stays active in this process after a crash; the next training would refuse to start."""
    try:
        import mlflow

        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run(status)
    except Exception:  # best effort on the way out of a failure that is already being raised
        pass


# --- reports -----------------------------------------------------------------------------------------------------


def mirror_report(cfg: Config, run, report_path: Path, report: dict) -> None:
    """The report's figures, verdict and files on the run's MLflow run (started here for a run trained without
    tracking, e.g. `honed eval` of an older run)."""
    if not (run.is_main and mirror_wanted(cfg)):
        return
    info = start_run(cfg, run)
    if info is not None:
        _guarded(info["tracking_uri"], "log the report", _log_report, info, Path(report_path), report, run)


def _log_report(info: dict, report_path: Path, report: dict, run) -> None:
    client = _client(info["tracking_uri"])
    _log_batches(client, info["run_id"], metrics=report_figures(report), tags=report_tags(report, report_path))
    _log_files(info, [report_path, report_path.with_name("report.html"), Path(run.path) / "meta.json"])
    _terminate(info, "FINISHED")


def report_figures(report: dict) -> dict[str, float]:
    """`<candidate>.<metric>` for every candidate's numbers; the objective as `objective.passed` (0/1), `.value`…"""
    figures = {f"{name}.{metric}": float(value) for name, metrics in (report.get("candidates") or {}).items()
               for metric, value in metrics.items() if _is_number(value)}
    objective = report.get("objective") or {}
    for key in ("passed", "fine_tuned_passed"):
        if key in objective:
            figures[f"objective.{key}"] = float(bool(objective[key]))
    for key in ("value", "target", "delta_vs_best_baseline"):
        if _is_number(objective.get(key)):
            figures[f"objective.{key}"] = float(objective[key])
    return figures


def report_tags(report: dict, report_path: Path) -> dict[str, str]:
    objective, verdict = report.get("objective") or {}, report.get("verdict") or {}
    tags = {"honed.verdict": verdict.get("text"), "honed.verdict.winner": verdict.get("winner"),
            "honed.verdict.outcome": verdict.get("outcome"), "honed.objective.best_candidate":
            objective.get("best_candidate"), "honed.primary_metric": report.get("primary_metric"),
            "honed.report": str(Path(report_path).resolve())}
    return {k: str(v) for k, v in tags.items() if v is not None}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- the registry ------------------------------------------------------------------------------------------------


def mirror_version(run, name: str, version: int) -> dict | None:
    """honed's `name:version` as a version of the MLflow registered model `name` (source: the MLflow run's honed
    artifacts). Returns what the registry keeps to move MLflow's aliases later; None when not mirrored."""
    info = run.meta.get("mlflow")
    if not (run.is_main and info):
        return None
    return _guarded(info["tracking_uri"], f"register {name}:{version}", _register, info, name, version, run.run_id,
                    Path(run.path))


def _register(info: dict, name: str, version: int, honed_run_id: str, run_dir: Path) -> dict:
    from mlflow.exceptions import MlflowException

    client, run_id = _client(info["tracking_uri"]), info["run_id"]
    try:
        client.create_registered_model(name, description="mirrored from honed's model registry")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    known = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    if known:  # a resumed run registers once, in MLflow as in honed
        mlflow_version = known[0].version
    else:
        _log_adapter(client, run_id, run_dir)
        tags = {"honed.version": str(version), "honed.run_id": honed_run_id, "honed.reference": f"{name}:{version}"}
        mlflow_version = client.create_model_version(name, f"runs:/{run_id}/{ARTIFACT_DIR}", run_id=run_id,
                                                     tags=tags).version
    return {"tracking_uri": info["tracking_uri"], "model": name, "version": int(mlflow_version), "run_id": run_id}


def _log_adapter(client, run_id: str, run_dir: Path) -> None:
    """A PEFT adapter (megabytes, what makes the version) goes into the version's source as `honed/adapter`, so
    MLflow holds the weights; a full fine-tune's model is not copied (gigabytes at real sizes): the run directory
    tag points to it."""
    adapter = run_dir / "adapter"
    if (adapter / "adapter_config.json").is_file():
        client.log_artifacts(run_id, str(adapter), artifact_path=f"{ARTIFACT_DIR}/adapter")


def mirror_alias(alias: str, target: dict | None, mirrored: list[dict]) -> None:
    """MLflow's alias follows honed's move: on every server that holds versions of the model, set to the target's
    MLflow version, or deleted where the target was never mirrored (an alias must not point at a stale version).
    `target` and `mirrored` are what mirror_version returned (kept in the registry's version meta)."""
    for uri, model in dict.fromkeys((m["tracking_uri"], m["model"]) for m in mirrored):
        if target and target["tracking_uri"] == uri:
            _guarded(uri, f"move alias @{alias}", _set_alias, uri, model, alias, target["version"])
        else:
            _guarded(uri, f"remove alias @{alias}", _delete_alias, uri, model, alias)


def _set_alias(uri: str, model: str, alias: str, version: int) -> None:
    _client(uri).set_registered_model_alias(model, alias, str(version))


def _delete_alias(uri: str, model: str, alias: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        _client(uri).delete_registered_model_alias(model, alias)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise


# --- the client, guarded -----------------------------------------------------------------------------------------


def _guarded(uri: str, what: str, call, *args):
    """One call to the tracker; any failure warns once per server and turns the mirror off for it."""
    if uri in _DOWN:
        return None
    try:
        return call(*args)
    except Exception as exc:  # the mirror is best effort: nothing the tracker raises may stop a run
        _DOWN.add(uri)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        console.print(f"[yellow]warning:[/] MLflow at {redact_urls(uri)}: could not {what} ({redact_urls(reason)}); "
                      "honed goes on without mirroring to it in this command — start the tracking server or fix "
                      "`tracking.mlflow_uri` (honed's own store and run directory have everything)", highlight=False)
        return None


def _client(uri: str):
    if uri not in _CLIENTS:
        for key, value in CLIENT_DEFAULTS.items():
            os.environ.setdefault(key, value)
        _check_reachable(uri)
        from mlflow import MlflowClient

        _CLIENTS[uri] = MlflowClient(uri)
    return _CLIENTS[uri]


def _check_reachable(uri: str) -> None:
    """A quick /health probe for a server over HTTP: an absent one costs one short timeout, not retries."""
    if uri.startswith(("http://", "https://")):
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=HEALTH_TIMEOUT_S) as response:
            response.read()


def _log_batches(client, run_id: str, *, params: dict | None = None, metrics: dict | None = None,
                 tags: dict | None = None) -> None:
    """MLflow takes at most 100 params or tags and 1000 metrics a call, values cut to its length limits."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_PARAMS_TAGS_PER_BATCH, MAX_TAG_VAL_LENGTH

    now = int(time.time() * 1000)
    params_ = [Param(k, v[:MAX_PARAM_VAL_LENGTH]) for k, v in (params or {}).items()]
    tags_ = [RunTag(k, v[:MAX_TAG_VAL_LENGTH]) for k, v in (tags or {}).items()]
    metrics_ = [Metric(k, v, now, 0) for k, v in (metrics or {}).items()]
    size = MAX_PARAMS_TAGS_PER_BATCH
    for start in range(0, max(len(params_), len(tags_), len(metrics_)), size):
        client.log_batch(run_id, metrics=metrics_[start:start + size], params=params_[start:start + size],
                         tags=tags_[start:start + size])


def _log_files(info: dict, paths: list[Path]) -> None:
    client = _client(info["tracking_uri"])
    for path in paths:
        if path.is_file():
            client.log_artifact(info["run_id"], str(path), artifact_path=ARTIFACT_DIR)


def _terminate(info: dict, status: str) -> None:
    _client(info["tracking_uri"]).set_terminated(info["run_id"], status)


@contextmanager
def _environment(values: dict[str, str]):
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
