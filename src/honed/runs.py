"""The services: the one place a run is put together.

`honed run`, `honed train`, `honed train --resume`, `honed sweep` and `honed eval` all call these functions, so
"load the model → make the run directory → pick the training rows → train → evaluate → report" is written once.
They sit above every stage (they may import any of them) and below the CLI.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.config import Config, load_config
from honed.core.errors import HonedError
from honed.core.prepared import PreparedData, find_prepared
from honed.core.progress import console
from honed.core.rundir import RunDir


@dataclass
class Clock:
    """Wall-clock seconds per phase for the report's `timings`, each beside its process CPU seconds (`NAME_cpu`):
    on a shared machine the wall time depends on the load, the CPU time much less."""

    timings: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)
    _cpu_start: float = field(default_factory=time.process_time)

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.timings[name] = round(now - self._start, 2)
        self.timings[f"{name}_cpu"] = round(cpu - self._cpu_start, 2)
        self._start, self._cpu_start = now, cpu


def run_whole_flow(cfg: Config, output: Path) -> Path:
    """`honed run`: prepare → baselines → train → evaluate → report. Returns the path of report.json."""
    clock = Clock()
    data = prepare_data(cfg, output)
    clock.lap("prepare_s")
    return train_and_report(cfg, data, output, clock)


def prepare_data(cfg: Config, output: Path) -> PreparedData:
    from honed.data.prepare import run_prepare

    data = run_prepare(cfg, output / "data")
    console.print(f"[bold]data[/] {data.counts} · hash {data.dataset_hash} · dropped rows: "
                  f"{output / 'data' / 'dropped.jsonl'}")
    return data


def train_and_report(cfg: Config, data: PreparedData, output: Path, clock: Clock, extra: dict | None = None) -> Path:
    """Baselines → train → evaluate → report on prepared data (the second half of `honed run`)."""
    from honed.train.methods import load_for_training

    if cfg.data.synthetic.n and not scored_by_likelihood(data.splits["train"]):
        return run_with_synthetic(cfg, data, output, clock)
    model, tokenizer = load_for_training(cfg)  # QLoRA loads in 4-bit here; other methods load plainly
    clock.lap("load_model_s")
    baselines = evaluate_base(cfg, data, model, tokenizer)
    clock.lap("baselines_s")
    run = RunDir.create(output / "run", "train", cfg, data.dataset_hash)
    trained = train_run(cfg, data, run, model=(model, tokenizer))
    clock.lap("train_s")
    with run.failure_status():
        report = evaluate_run(cfg, data, run, trained.model, tokenizer, baselines, output, clock, extra=extra)
    run.finish(train_seconds=trained.seconds)
    return report


def budget_run(cfg: Config, output: Path, seconds: float) -> Path:
    """`honed run --budget`: prepare; a time-boxed search selecting on the validation split only; then the
    ordinary flow (baselines, training, the one evaluation on the frozen test split) with the best config. The
    report's `search` section records the trials, the best parameters and the budget."""
    from honed.train.sweep import sweep_config

    clock = Clock()
    data = prepare_data(cfg, output)
    clock.lap("prepare_s")
    search = budget_search(cfg, data, output / "search", seconds)
    clock.lap("search_s")
    best = sweep_config(cfg, search["params"])
    console.print(f"[bold]search[/] {search['trials']} trial(s) in {search['elapsed_seconds']:.0f} s "
                  f"(budget {seconds:g} s): best {search['params']} (validation loss {search['value']:.4f})")
    return train_and_report(best, data, output, clock, extra={"search": search})


def budget_search(cfg: Config, data: PreparedData, output: Path, seconds: float) -> dict:
    """Optuna (honed.train.sweep) over learning rate, epochs and LoRA rank until `seconds` have passed."""
    from honed.train.sweep import run_sweep

    if seconds <= 0:
        raise HonedError(f"the budget must be positive, got {seconds:g} s", "write e.g. `--budget 20m`")
    require_validation(data, "a budgeted search")
    output.mkdir(parents=True, exist_ok=True)
    search_cfg, ranges = budget_ranges(cfg, data, seconds)
    started = time.perf_counter()
    summary = run_sweep(search_cfg, output, None, validation_trial(data), timeout=seconds)
    return {**summary, "budget_seconds": seconds, "elapsed_seconds": round(time.perf_counter() - started, 2),
            "selected_on": "validation loss (the test split is not evaluated until the final report)",
            "ranges": ranges, "path": str(output.resolve())}


def budget_ranges(cfg: Config, data: PreparedData, seconds: float) -> tuple[Config, dict]:
    """Search ranges around the recipe: a key the user set stays fixed; an `auto` learning rate spans the
    recipe's ×¼ to ×4; `auto` epochs span a quarter of the recipe's to what fits a third of the budget."""
    from honed.data.split import subsample
    from honed.models.load import load_tokenizer
    from honed.train.recipe import adapt_recipe

    t = cfg.train
    planning = cfg.model_copy(update={"train": t.model_copy(update={"auto_max_minutes": seconds / 3 / 60})})
    train = subsample(data.splits["train"], t.max_train_examples, t.seed)
    recipe = adapt_recipe(planning, train, load_tokenizer(cfg.model.base)).cfg.train
    rate = recipe.learning_rate
    rates = [rate / 4, rate * 4] if t.learning_rate == "auto" else [rate, rate]
    epochs = [max(1.0, float(math.ceil(recipe.epochs / 4))), recipe.epochs] if t.epochs == "auto" \
        else [recipe.epochs, recipe.epochs]
    ranges = {"learning_rate": rates, "epochs": epochs, "r": sorted(set(t.sweep_r))}
    update = {"sweep_learning_rate": rates, "sweep_epochs": epochs}
    return cfg.model_copy(update={"train": t.model_copy(update=update)}), ranges


def require_validation(data: PreparedData, what: str) -> None:
    if not data.splits.get("validation"):
        raise HonedError(f"{what} minimises validation loss, and the validation split is empty",
                         "set `data.split.validation` above 0 or give `data.validation`")


def validation_trial(data: PreparedData):
    """One sweep trial: an ordinary training run scored by its best validation loss (never the test split)."""

    def train_trial(trial_cfg: Config, path: Path) -> float:
        run = RunDir.create(path, "sweep-trial", trial_cfg, data.dataset_hash)
        result = train_run(trial_cfg, data, run)
        value = min((loss for _, loss in result.eval_loss), default=float("inf"))
        run.finish(best_eval_loss=value, train_seconds=result.seconds)
        return value

    return train_trial


def run_with_synthetic(cfg: Config, data: PreparedData, output: Path, clock: Clock) -> Path:
    """`honed run` with `data.synthetic.n`: make synthetic rows, train once on the real rows and once on real +
    synthetic (both through train_run), keep the synthetic rows only if the validation metric improves. Real rows
    are never replaced. The report's `fine_tuned` is the kept model; the other is a candidate beside it (so the
    paired test on the test split compares them), and report.json `synthetic` holds the decision and its reason."""
    from honed.synth.flow import synthesize_for, write_synthesis
    from honed.train.methods import load_for_training

    model, tokenizer = load_for_training(cfg)
    clock.lap("load_model_s")
    baselines = evaluate_base(cfg, data, model, tokenizer)
    clock.lap("baselines_s")
    syn = cfg.data.synthetic
    made = synthesize_for(cfg, data, syn.n, syn.teacher, syn.augment, model=model, tokenizer=tokenizer)
    rows_file, _ = write_synthesis(made, output / "data" / "synthetic.jsonl")
    clock.lap("synthesize_s")
    real_run, real = _synthetic_trial(cfg, data, output / "run", model=(model, tokenizer))
    decision = {"requested": syn.n, "teacher": made.teacher, "generated": made.summary(), "rows": str(rows_file),
                "kept": False}
    if not made.rows:
        decision["reason"] = (f"kept out: none of the {syn.n} synthetic rows passed the filters "
                              f"({', '.join(f'{k} {v}' for k, v in made.summary()['dropped'].items()) or 'none made'})")
        return _report_kept(cfg, data, (real_run, real), None, tokenizer, baselines, output, clock, decision)
    more_cfg, more = with_rows(cfg, data, made.rows)
    synth_run, synth = _synthetic_trial(more_cfg, more, output / "run-synthetic")
    clock.lap("train_s")
    decision.update(decide_synthetic(cfg, data, real.model, synth.model, tokenizer))
    kept, other = ((synth_run, synth), (real_run, real)) if decision["kept"] else ((real_run, real), (synth_run, synth))
    return _report_kept(cfg, more if decision["kept"] else data, kept, other, tokenizer, baselines, output, clock,
                        decision)


def _synthetic_trial(cfg: Config, data: PreparedData, path: Path, model=None):
    """One of the two trainings; registered as a version only if it is the one kept."""
    run = RunDir.create(path, "synthetic-trial", cfg, data.dataset_hash)
    return run, train_run(cfg, data, run, model=model)


def with_rows(cfg: Config, data: PreparedData, rows: list[dict]) -> tuple[Config, PreparedData]:
    """`data` with `rows` added to the real rows of its train split (validation and test untouched).

    With `train.max_train_examples` the real rows are subsampled first, exactly as the real-only training does,
    and the synthetic rows come on top: they never take a real row's place."""
    from dataclasses import replace

    from honed.core.prepared import content_hash
    from honed.data.split import subsample

    real = subsample(data.splits["train"], cfg.train.max_train_examples, cfg.train.seed)
    splits = {**data.splits, "train": real + rows}
    more = cfg.model_copy(deep=True)
    more.root = cfg.root
    more.train.max_train_examples = None
    return more, replace(data, splits=splits, dataset_hash=content_hash(splits),
                         counts={**data.counts, "synthetic": len(rows)})


def decide_synthetic(cfg: Config, data: PreparedData, real_model, synth_model, tokenizer) -> dict:
    """Keep the synthetic rows only if the fine-tune trained with them scores higher on the validation split."""
    from honed.evaluate.candidates import evaluate_candidate, prompt_of, reference_of

    validation, metric = data.splits.get("validation", []), cfg.objective.metric
    if not validation:
        return {"kept": False, "reason": "kept out: there is no validation split to show they help "
                                         "(set data.split.validation above 0)"}
    quick = cfg.model_copy(deep=True)  # the decision needs the metric only: no latency, perplexity or similarity
    quick.evaluation.latency_samples, quick.evaluation.perplexity = 0, False
    quick.evaluation.embedding_similarity = False
    prompts, references = [prompt_of(r) for r in validation], [reference_of(r) for r in validation]
    scores = {name: evaluate_candidate(name, model, tokenizer, prompts, references, quick, data.labels).metrics[metric]
              for name, model in (("real_only", real_model), ("with_synthetic", synth_model))}
    kept = scores["with_synthetic"] > scores["real_only"]
    verb = "kept: validation" if kept else "kept out: validation"
    how = "improved" if kept else "did not improve"
    return {"kept": kept, "validation": {"metric": metric, "n": len(validation), **scores},
            "reason": f"{verb} {metric} {how} with the synthetic rows ({scores['with_synthetic']:.3f} with vs "
                      f"{scores['real_only']:.3f} without, {len(validation)} rows)"}


def _report_kept(cfg, data, kept, other, tokenizer, baselines, output, clock, decision) -> Path:
    """Register the kept training as the project's next version and write the report with the other beside it."""
    from honed.evaluate.candidates import evaluate_candidate, prompt_of, reference_of

    (kept_run, kept_result), extra_candidates = kept, {}
    if other is not None:
        other_run, other_result = other
        name = "fine_tuned_real_only" if decision["kept"] else "fine_tuned_with_synthetic"
        test = sample_test(data, cfg)
        extra_candidates[name] = evaluate_candidate(name, other_result.model, tokenizer, [prompt_of(r) for r in test],
                                                    [reference_of(r) for r in test], cfg, data.labels)
        decision["compared_as"] = name
        other_run.finish(train_seconds=other_result.seconds)
        other_run.close()
    if kept_run.is_main:
        register_version(cfg, kept_run, meta={"synthetic": decision["kept"]})
    console.print(f"[bold]synthetic data[/] {decision['reason']}", highlight=False)
    with kept_run.failure_status():
        report = evaluate_run(cfg, data, kept_run, kept_result.model, tokenizer, baselines, output, clock,
                              extra_candidates, extra={"synthetic": decision})
    kept_run.finish(train_seconds=kept_result.seconds)
    return report


def train_run(cfg: Config, data: PreparedData, run: RunDir, *, model=None, resume_from: Path | None = None):
    """Train `cfg` on `data` into `run` (optionally continuing from a checkpoint); returns the TrainResult.

    `model` is an already loaded (model, tokenizer) pair — `honed run` evaluates the base model first and then
    trains the same object; everyone else lets this function load it.
    """
    from honed.data.split import subsample
    from honed.track.mlflow_mirror import training
    from honed.train.fsdp_cpu import fsdp_on_cpu, train_fsdp
    from honed.train.methods import load_for_training
    from honed.train.sft import train_sft

    trainer = train_fsdp if fsdp_on_cpu() else train_sft  # `--strategy fsdp` without CUDA: torch FSDP2, own loop
    with run.failure_status():
        model, tokenizer = model or load_for_training(cfg)
        train = subsample(data.splits["train"], cfg.train.max_train_examples, cfg.train.seed)
        recipe = apply_recipe(cfg, train, tokenizer, run)
        with training(recipe.cfg, run) as tracked:  # MLflow, when tracking is on: the run mirrored, curves logged
            result = trainer(tracked, model, tokenizer, recipe.train, data.splits.get("validation", []), run,
                               resume_from=resume_from)
    if run.is_main and run.meta.get("kind") == "train":  # `honed run` and `honed train`; not sweep trials
        register_version(cfg, run)
    return result


def apply_recipe(cfg: Config, train: list[dict], tokenizer, run: RunDir):
    """The default recipe (honed.train.recipe) for every `auto` key: logged and kept in meta.json as `recipe`."""
    from honed.train.recipe import adapt_recipe

    recipe = adapt_recipe(cfg, train, tokenizer)
    run.meta["recipe"] = recipe.choices
    run.write_meta()
    if run.is_main and run.meta.get("kind") != "sweep-trial":
        for line in recipe.describe():
            console.print(f"[dim]recipe[/] {line}", highlight=False)
    return recipe


def register_version(cfg: Config, run: RunDir, *, kind: str = "train", parent: tuple[str, int] | None = None,
                     meta: dict | None = None) -> int:
    """The run becomes the next version of the model named by `project` (once per run, even when resumed)."""
    from honed.registry import register_run
    from honed.track.mlflow_mirror import mirror_version

    version = register_run(run.store, cfg.project, run.run_id, run.path, kind=kind, parent=parent,
                           meta={"dataset_hash": run.meta.get("dataset_hash"), **(meta or {})})
    run.meta["registry"] = {"name": cfg.project, "version": version}
    run.write_meta()
    mirrored = mirror_version(run, cfg.project, version)  # the MLflow model version its aliases will move
    if mirrored:
        row = run.store.model_version(cfg.project, version)
        run.store.update_version_meta(cfg.project, version, {**json.loads(row["meta"] or "{}"), "mlflow": mirrored})
    return version


def resume_run(path: Path, overrides: list[str]):
    """Continue the run in `path` from its newest checkpoint with the config and data it was started with."""
    from honed.train.loop import truncate_metrics

    if not (path / "meta.json").is_file() or not (path / "config.yaml").is_file():
        raise HonedError(f"`{path}` is not a run directory (no meta.json/config.yaml)",
                         "pass the directory `honed train` printed when it started")
    run = RunDir.open(path)
    if run.meta.get("status") == "finished":
        console.print(f"run {run.run_id} is finished (step {run.meta.get('global_step', '?')}); nothing to resume")
        return run, None
    checkpoint = usable_checkpoint(path)
    cfg = load_config(path / "config.yaml", overrides)
    if overrides:
        console.print(f"[yellow]resuming with overrides {overrides}: the result may differ from an "
                      "uninterrupted run[/]")
    if run.is_main:
        step = int(checkpoint.name.split("-")[-1])
        truncate_metrics(path / "metrics.jsonl", step)
        run.store.delete_metrics_after(run.run_id, step)
    run.meta.setdefault("resumed", []).append({"from": checkpoint.name, "command": sys.argv})
    data = PreparedData.load(find_prepared(path))
    console.print(f"resuming {run.run_id} from {checkpoint.name}")
    return run, train_run(cfg, data, run, resume_from=checkpoint)


def usable_checkpoint(path: Path) -> Path:
    """The newest checkpoint, after checking it loads; a corrupt one is named with the previous good one."""
    from honed.train.loop import checkpoint_problem, checkpoints

    found = checkpoints(path)
    if not found:
        raise HonedError(f"`{path}` holds no checkpoint to resume from",
                         "checkpoints are written at each evaluation or every `train.save_every` steps; "
                         "start a new run, with `train.save_every` set to keep more frequent checkpoints")
    problem = checkpoint_problem(found[-1])
    if problem is None:
        return found[-1]
    previous = next((c for c in reversed(found[:-1]) if checkpoint_problem(c) is None), None)
    fix = (f"delete {found[-1]} and resume again: it continues from {previous.name}, the previous good one"
           if previous else "no earlier checkpoint is readable either: start the run again")
    raise HonedError(f"checkpoint {found[-1]} is corrupt ({problem})", fix)


def sweep_run(cfg: Config, output: Path, trials: int) -> dict:
    """`honed sweep`: prepare once, then one ordinary training run per Optuna trial; returns the best trial."""
    from honed.data.prepare import run_prepare
    from honed.train.sweep import run_sweep

    data = run_prepare(cfg, output / "data")
    require_validation(data, "a sweep")
    return run_sweep(cfg, output, trials, validation_trial(data))


def evaluate_base(cfg: Config, data: PreparedData, model, tokenizer) -> dict:
    """The base model's figures on the (sampled) test split: the prompt baselines for conversations, log-likelihood
    scores for preference, KTO and text data."""
    test = sample_test(data, cfg)
    if scored_by_likelihood(test):
        from honed.evaluate.likelihood import score_model

        return {"base": score_model("base", model, tokenizer, test, cfg.model.max_length)}
    from honed.evaluate.suite import evaluate_baselines, evaluate_rag

    results = evaluate_baselines(cfg, data, test, model, tokenizer)
    retrieved = retrieval_for(cfg, test)
    if retrieved is not None:
        results["rag"] = evaluate_rag("rag", cfg, data, test, model, tokenizer, retrieved)
    return results


_RETRIEVED: dict = {}


def retrieval_for(cfg: Config, test: list[dict]):
    """The chunks retrieved for each test row when `data.documents` is set (else None); the index is brought up to
    date first. Kept per index and test set, so the base model and the fine-tune see the same chunks."""
    if not cfg.data.documents or not test or scored_by_likelihood(test):
        return None
    from honed.evaluate.candidates import prompt_of, reference_of
    from honed.retrieval.corpus import index_directory, retrieve_for_prompts

    prompts = [prompt_of(r) for r in test]
    key = (str(index_directory(cfg)), json.dumps(prompts, sort_keys=True))
    if key not in _RETRIEVED:
        _RETRIEVED.clear()
        _RETRIEVED[key] = retrieve_for_prompts(cfg, prompts, [reference_of(r) for r in test])
    return _RETRIEVED[key]


def scored_by_likelihood(test: list[dict]) -> bool:
    """Preference pairs, KTO examples and raw text are not answered by generation: they are scored by likelihood."""
    from honed.core.records import as_record

    return bool(test) and any(as_record(r).kind != "conversation" for r in test)


CLASSICAL_SKIPPED = ("no classical baseline: preference, KTO and text data are scored by likelihood, which a "
                     "classical model does not give")


def evaluate_run(cfg: Config, data: PreparedData, run: RunDir, tuned, tokenizer, baselines: dict, output: Path,
                 clock: Clock, extra_candidates: dict | None = None, extra: dict | None = None) -> Path:
    """Evaluate the trained model beside `baselines` (and `extra_candidates`, already evaluated), write
    report.json/html and predictions.jsonl, record it; returns report.json. `extra` sections (e.g. the `--budget`
    search, the synthetic-data decision) are added to the report as they are."""
    from honed.evaluate.report import save_predictions, save_report

    test = sample_test(data, cfg)
    report, predictions = _fine_tuned_report(cfg, data, test, tuned, tokenizer, baselines, run, clock,
                                             extra_candidates, extra)
    if run.meta.get("recipe"):
        report["recipe"] = run.meta["recipe"]
    report.update(extra or {})
    path = save_report(report, output)
    save_predictions(predictions, output)
    run.meta.setdefault("reports", []).append({"path": str(path.resolve()), "objective": report["objective"]})
    run.write_meta()
    if run.is_main:
        run.store.record_report(run.run_id, str(path.resolve()), report)
        from honed.registry.models import report_metrics

        run.store.attach_version_report(run.run_id, str(path.resolve()), report_metrics(report))
        from honed.track.mlflow_mirror import mirror_report

        mirror_report(cfg, run, path, report)
    run.close()
    return path


def _fine_tuned_report(cfg, data, test, tuned, tokenizer, baselines, run, clock, extra_candidates=None,
                       extra=None) -> tuple[dict, list[dict]]:
    training = run.meta.get("training", {})
    if scored_by_likelihood(test):
        from honed.evaluate.likelihood import build_likelihood_report, prediction_rows, score_model

        scores = {**baselines, "fine_tuned": score_model("fine_tuned", tuned, tokenizer, test, cfg.model.max_length)}
        clock.lap("eval_fine_tuned_s")
        report = build_likelihood_report(cfg, data, test, scores, training, clock.timings)
        if "classical" in cfg.evaluation.baselines:
            report.setdefault("notes", []).append(CLASSICAL_SKIPPED)
        return report, prediction_rows(test, scores)
    from honed.evaluate.assemble import build_report, prediction_rows
    from honed.evaluate.suite import evaluate_fine_tuned, evaluate_rag

    results = {**baselines, "fine_tuned": evaluate_fine_tuned(cfg, data, test, tuned, tokenizer)}
    retrieved = retrieval_for(cfg, test)
    if retrieved is not None:
        results["rag_fine_tuned"] = evaluate_rag("rag_fine_tuned", cfg, data, test, tuned, tokenizer, retrieved)
    results.update(extra_candidates or {})
    clock.lap("eval_fine_tuned_s")
    report = build_report(cfg, data, test, results, training, clock.timings,
                          retrieval=retrieved.quality if retrieved is not None else None, extra=extra)
    return report, prediction_rows(test, results)


def evaluate_trained_run(cfg: Config, run_path: Path, output: Path | None) -> Path:
    """`honed eval`: the baselines and a finished run's model on its own test split, with its real figures."""
    from honed.models.load import load_trained, load_with_status
    from honed.registry import resolve_reference

    run_path = resolve_reference(run_path)  # NAME@ALIAS and NAME:VERSION name a registered run directory
    adapter = run_path / "adapter"
    if not adapter.is_dir():
        raise HonedError(f"`{run_path}` holds no trained adapter (expected {adapter})",
                         "pass a run directory written by `honed train`")
    data = PreparedData.load(find_prepared(run_path))
    run = RunDir.open(run_path)
    clock = Clock()
    from honed.models.templates import apply_chat_template_setting

    model, tokenizer = load_with_status(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)
    apply_chat_template_setting(model, tokenizer, cfg.model.chat_template, cfg.root)
    clock.lap("load_model_s")
    baselines = evaluate_base(cfg, data, model, tokenizer)
    clock.lap("baselines_s")
    tuned = load_trained(model, adapter)
    return evaluate_run(cfg, data, run, tuned, tokenizer, baselines, output or run_path / "eval", clock)


def sample_test(data: PreparedData, cfg: Config) -> list[dict]:
    from honed.data.split import subsample

    return subsample(data.splits["test"], cfg.evaluation.max_test_examples, cfg.data.split.seed)


# --- the loop: feedback → dataset → train → evaluate against production → gate → promote ---------------------


def retrain_run(cfg: Config, model_ref: str | None, output: Path | None, promote: bool = True) -> dict:
    """`honed retrain`: turn feedback and workbench reviews not used before into a new dataset version, train on
    it, evaluate the new model and the current holder of the alias on the frozen test split plus held-out new
    feedback, gate, and promote only when the gate passes (else the version goes to `staging` with the reason in
    its report).

    Idempotent: with no new feedback or reviews it does nothing (no data, no run, no version) and says so.
    """
    from honed.core.store import Store
    from honed.monitor.loop import feedback_data
    from honed.monitor.reviews import reviews
    from honed.monitor.traffic import logged_feedback
    from honed.registry import resolve_version

    ref = model_ref or f"{cfg.project}@{cfg.monitor.promote_alias}"
    alias = ref.split("@", 1)[1] if "@" in ref else cfg.monitor.promote_alias
    with Store() as store:
        holder = resolve_version(ref, store)
        name = holder["name"]  # workbench reviews of any of its versions count, as its logged feedback does
        found = feedback_data(logged_feedback(store, model=ref), store.consumed_inputs(name), cfg,
                              reviews(store.votes_on_model(name), store.expert_ratings_on_model(name)))
        earlier = [json.loads(r["meta"] or "{}").get("feedback_files", {}) for r in store.model_versions(holder["name"])]
    new_examples = len(found.sft) + len(found.heldout) + len(found.preference)
    if found.is_empty or new_examples < cfg.monitor.retrain_min_examples:
        console.print(f"no new feedback or reviews for {ref} ({new_examples} new example(s), "
                      f"{len(found.skipped)} unusable): nothing to retrain")
        return {"status": "nothing_new", "model": ref, "new_examples": new_examples, "skipped": found.skipped}
    output = output or cfg.root / "runs" / f"{cfg.project}-retrain-{time.strftime('%Y%m%d-%H%M%S')}"
    files = write_feedback_files(found, output / "feedback")
    rcfg = retrain_config(cfg, Path(holder["run_dir"]), files, earlier, output)
    return train_gate_promote(rcfg, holder, alias, found, files, output, promote)


def write_feedback_files(found, directory: Path) -> dict[str, str]:
    from honed.core.prepared import write_jsonl

    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in ("sft", "heldout", "preference"):
        rows = getattr(found, kind)
        if rows:
            write_jsonl(directory / f"{kind}.jsonl", rows)
            files[kind] = str((directory / f"{kind}.jsonl").resolve())
    (directory / "skipped.jsonl").write_text("".join(json.dumps(s) + "\n" for s in found.skipped), encoding="utf-8")
    return files


def retrain_config(cfg: Config, holder_dir: Path, files: dict[str, str], earlier: list[dict], output: Path) -> Config:
    """The config of the new dataset version: the project's files + every feedback file so far (old + new);
    test = the holder's frozen test split + all held-out feedback; validation = the holder's, frozen."""
    from honed.core.prepared import read_jsonl, write_jsonl

    prepared = find_prepared(holder_dir)
    preference = cfg.train.objective in ("dpo", "orpo", "kto")
    kind = "preference" if preference else "sft"
    feedback = [f[kind] for f in [*earlier, files] if f.get(kind) and Path(f[kind]).is_file()]
    heldout = [row for f in [*earlier, files] if f.get("heldout") and Path(f["heldout"]).is_file()
               for row in read_jsonl(Path(f["heldout"]))]
    test_file = output / "feedback" / "eval_test.jsonl"
    write_jsonl(test_file, read_jsonl(prepared / "test.jsonl") + heldout)
    rcfg = cfg.model_copy(deep=True)
    rcfg.root = cfg.root
    base_files = [] if preference else [str(cfg.resolve(f).resolve()) for f in cfg.data.train]
    rcfg.data.train = base_files + feedback
    rcfg.data.test = str(test_file.resolve())  # given test rows stay as they are; training rows near them drop
    validation = prepared / "validation.jsonl"
    rcfg.data.validation = str(validation.resolve()) if validation.is_file() and validation.stat().st_size else None
    rcfg.data.format = "auto"  # prepared splits (chat records) and feedback rows sit side by side
    return rcfg


def train_gate_promote(cfg: Config, holder, alias: str, found, files: dict, output: Path, promote: bool) -> dict:
    from honed.data.prepare import run_prepare
    from honed.train.methods import load_for_training

    clock = Clock()
    data = run_prepare(cfg, output / "data")
    model, tokenizer = load_for_training(cfg)
    baselines = evaluate_base(cfg, data, model, tokenizer)
    run = RunDir.create(output / "run", "retrain", cfg, data.dataset_hash)
    trained = train_run(cfg, data, run, model=(model, tokenizer))
    lineage = {"feedback_files": files, "new_examples": {k: len(getattr(found, k)) for k in ("sft", "heldout",
               "preference")}, "parent_dataset_hash": json.loads(holder["meta"] or "{}").get("dataset_hash"),
               "reviews": sorted(k for k in found.used if k.startswith(("vote:", "rating:")))}
    version = register_version(cfg, run, kind="retrain", parent=(holder["name"], holder["version"]), meta=lineage)
    clock.lap("train_s")
    report_path = evaluate_run(cfg, data, run, trained.model, tokenizer, baselines, output, clock)
    run.finish(train_seconds=trained.seconds)
    against = evaluate_holder(cfg, data, Path(holder["run_dir"]), baselines, output / "production")
    outcome = decide(cfg, holder, version, alias, report_path, against, found, promote)
    return {**outcome, "report": str(report_path), "production_report": str(against), "dataset": data.dataset_hash}


def evaluate_holder(cfg: Config, data: PreparedData, run_dir: Path, baselines: dict, output: Path) -> Path:
    """The alias's current model on the new test set (frozen test + held-out feedback), as a report to gate on."""
    from honed.evaluate.assemble import build_report
    from honed.evaluate.report import save_report
    from honed.evaluate.suite import evaluate_fine_tuned
    from honed.models.load import load_trained, load_with_status

    model, tokenizer = load_with_status(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)
    test = sample_test(data, cfg)
    tuned = load_trained(model, run_dir / "adapter")
    results = {**baselines, "fine_tuned": evaluate_fine_tuned(cfg, data, test, tuned, tokenizer)}
    return save_report(build_report(cfg, data, test, results, {}, {}), output)


def decide(cfg: Config, holder, version: int, alias: str, report_path: Path, against: Path, found,
           promote: bool) -> dict:
    """Promote through the registry's gate (against the holder re-evaluated on the same test set), or leave the
    version at `staging`; either way the report says what happened and why, and the feedback is marked used."""
    from honed.core.store import Store
    from honed.registry import PromotionRefused, stage
    from honed.registry import promote as promote_version

    name = holder["name"]
    with Store() as store:
        store.record_consumed_inputs(name, version, found.used)
        try:
            if not promote:
                raise PromotionRefused("not promoted: --no-promote", details=["--no-promote was given"])
            moved = promote_version(store, name, version, alias, reason=f"honed retrain: gate passed against "
                                    f"{name}:{holder['version']} on the frozen test + held-out feedback",
                                    baseline_report=against, tolerance=cfg.evaluation.gate_tolerance)
            outcome = {"status": "promoted", "version": version, "alias": alias, "from": moved["from"], "why": []}
        except PromotionRefused as refused:
            stage(store, name, version, "staging", reason="; ".join(refused.details))
            outcome = {"status": "staging", "version": version, "alias": "staging", "why": refused.details}
    note_in_report(report_path, {**outcome, "parent": f"{name}:{holder['version']}", "compared_with": str(against)})
    console.print(f"{name}:{version} → @{outcome['alias']}" + (f" ({'; '.join(outcome['why'])})"
                                                               if outcome["why"] else ""))
    return {**outcome, "name": name}


def note_in_report(path: Path, lifecycle: dict) -> None:
    """Add the retrain's verdict to report.json (write-then-rename)."""
    import os

    report = json.loads(path.read_text(encoding="utf-8"))
    report["lifecycle"] = lifecycle
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(report, indent=2), encoding="utf-8")
    os.replace(partial, path)

