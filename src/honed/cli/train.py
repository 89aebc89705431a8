"""`honed train`, `honed plan`, `honed sweep`: the parsers and their handlers. Heavy imports stay inside the handlers."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from honed.cli.common import add_config_args, default_output
from honed.core.config import load_config, validate_config
from honed.core.errors import HonedError
from honed.core.progress import console

STRATEGIES = ("ddp", "fsdp", "zero2", "zero3")


def run_train(args) -> int:
    if getattr(args, "gpus", None) and "LOCAL_RANK" not in os.environ:
        return launch_distributed(args)
    if args.resume:
        return resume_train(args)
    from honed.data.prepare import run_prepare
    from honed.pipeline import subsample
    from honed.train.methods import load_for_training
    from honed.train.sft import train_sft

    cfg = load_config(args.config, args.overrides)
    output = _output(args, cfg)
    with _main_process_first():
        data = run_prepare(cfg, output / "data")
    model, tokenizer = load_for_training(cfg)
    run = _run_dir(output, cfg, data.dataset_hash)
    train = subsample(data.splits["train"], cfg.train.max_train_examples, cfg.train.seed)
    result = train_sft(cfg, model, tokenizer, train, data.splits["validation"], run)
    return _finish(run, result, output)


def resume_train(args) -> int:
    """Continue RUN from its newest checkpoint with the config and data it was started with."""
    from honed.data.prepare import read_jsonl
    from honed.pipeline import subsample
    from honed.core.rundir import RunDir
    from honed.core.store import Store
    from honed.train.loop import latest_checkpoint
    from honed.train.methods import load_for_training
    from honed.train.sft import train_sft

    path = Path(args.resume)
    if not (path / "meta.json").is_file() or not (path / "config.yaml").is_file():
        raise HonedError(f"`{path}` is not a run directory (no meta.json/config.yaml)",
                         "pass the directory `honed train` printed when it started")
    checkpoint = latest_checkpoint(path)
    if checkpoint is None:
        raise HonedError(f"`{path}` holds no checkpoint to resume from",
                         "checkpoints are written at each evaluation or every `train.save_every` steps; "
                         "start a new run, with `train.save_every` set to keep more frequent checkpoints")
    cfg = load_config(path / "config.yaml", args.overrides)
    if args.overrides:
        console.print(f"[yellow]resuming with overrides {args.overrides}: the result may differ from an "
                      "uninterrupted run[/]")
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    step = int(checkpoint.name.split("-")[-1])
    if _rank() == 0:
        _truncate_metrics(path / "metrics.jsonl", step)
    meta.setdefault("resumed", []).append({"from": checkpoint.name, "command": sys.argv})
    run = RunDir(path, meta["run_id"], Store(), meta)
    splits = {s: read_jsonl(path / "data" / f"{s}.jsonl") for s in ("train", "validation")}
    model, tokenizer = load_for_training(cfg)
    console.print(f"resuming {meta['run_id']} from {checkpoint.name}")
    train = subsample(splits["train"], cfg.train.max_train_examples, cfg.train.seed)
    result = train_sft(cfg, model, tokenizer, train, splits["validation"], run, resume_from=checkpoint)
    return _finish(run, result, path)


def launch_distributed(args) -> int:
    """`honed train --gpus N`: re-run this command under `accelerate launch` with a shipped config."""
    config_file = accelerate_config(args.strategy)
    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "train")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file),
               "--num_processes", str(args.gpus), "-m", "honed", "train", str(args.config), "--output", str(output)]
    if args.resume:
        command += ["--resume", str(args.resume)]
    command += list(args.overrides)
    console.print(f"launching {args.gpus} processes ({args.strategy}): {shlex.join(command)}")
    return subprocess.call(command)


def accelerate_config(strategy: str) -> Path:
    """The shipped accelerate config for a strategy (configs/accelerate/<strategy>.yaml)."""
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):
        candidate = base / "configs" / "accelerate" / f"{strategy}.yaml"
        if candidate.is_file():
            return candidate
    raise HonedError(f"no accelerate config for `{strategy}` (configs/accelerate/{strategy}.yaml)",
                     f"run from the honed source tree, or pass your own with `accelerate launch --config_file …`; "
                     f"strategies: {', '.join(STRATEGIES)}")


def run_plan(args) -> int:
    from honed.models.memory import plan_for_config, plan_table

    cfg = load_config(args.config, args.overrides)
    plan = plan_for_config(cfg, gpu_memory_gb=args.gpu_memory)
    if args.json:
        print(json.dumps(plan, indent=2))
    else:
        console.print(plan_table(plan))
        print(plan["recommendation"])
    return 0


def run_sweep(args) -> int:
    from honed.train.sweep import run_sweep as sweep

    cfg = load_config(args.config, args.overrides)
    output = _output(args, cfg, "sweep")
    best = sweep(cfg, output, trials=args.trials)
    console.print(f"best trial {best['number']}: validation loss {best['value']:.4f} with {best['params']}")
    print(output / "best.yaml")
    return 0


# --- helpers ------------------------------------------------------------------------------------------------


def _output(args, cfg, kind: str = "train") -> Path:
    if args.output:
        return Path(args.output)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise HonedError("a distributed run needs an explicit output directory",
                         "pass `--output DIR` (or use `honed train --gpus N`, which picks one for every process)")
    return default_output(cfg, kind)


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _main_process_first():
    """Under `accelerate launch` the main process prepares data while the others wait; alone, a no-op."""
    import contextlib

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().main_process_first()


def _run_dir(output: Path, cfg, dataset_hash: str):
    """The run directory: created (and registered in the store) by the main process only."""
    from honed.core.rundir import RunDir

    if _rank() == 0:
        run = RunDir.create(output, "train", cfg, dataset_hash)
        run.meta["world_size"] = int(os.environ.get("WORLD_SIZE", "1"))
        run.write_meta()
        return run
    return RunDir(output, f"rank-{_rank()}", store=None, meta={})


def _finish(run, result, output: Path) -> int:
    if _rank() != 0:
        return 0
    run.finish(train_seconds=result.seconds, final_loss=result.train_loss[-1][1] if result.train_loss else None,
               final_eval_loss=result.eval_loss[-1][1] if result.eval_loss else None)
    console.print(f"trained {result.trainable_params:,} of {result.total_params:,} parameters in "
                  f"{result.seconds:.0f} s; model in {result.adapter_dir}")
    print(output)
    return 0


def _truncate_metrics(file: Path, step: int) -> None:
    """Drop metrics logged after the checkpoint we resume from: those steps run again."""
    if not file.is_file():
        return
    kept = [line for line in file.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    file.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def sweep_config(cfg, params: dict):
    """A copy of `cfg` with a trial's hyperparameters set."""
    raw = cfg.model_dump(mode="json")
    raw["train"]["learning_rate"] = params["learning_rate"]
    raw["train"]["epochs"] = params["epochs"]
    if "r" in params:
        raw["method"]["r"] = params["r"]
        raw["method"]["alpha"] = 2 * params["r"]
    return validate_config(raw, root=cfg.root)


def register(verbs) -> None:
    train = verbs.add_parser("train", help="prepare data and train; writes a self-describing run directory")
    add_config_args(train)
    train.add_argument("--resume", metavar="RUN", help="continue a run directory from its last checkpoint")
    train.add_argument("--gpus", type=int, metavar="N",
                       help="train on N processes through `accelerate launch` (one per GPU; CPU processes if none)")
    train.add_argument("--strategy", choices=("ddp", "fsdp", "zero2", "zero3"), default="ddp",
                       help="with --gpus: DDP, FSDP or DeepSpeed ZeRO-2/3 (configs/accelerate/<strategy>.yaml)")
    train.set_defaults(handler="honed.cli.train:run_train")

    plan = verbs.add_parser("plan", help="estimate peak GPU memory for full / LoRA / QLoRA and recommend a method")
    add_config_args(plan, output=False)
    plan.add_argument("--gpu-memory", type=float, metavar="GB", help="memory of the GPU you have (e.g. 24)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler="honed.cli.train:run_plan")

    sweep = verbs.add_parser("sweep", help="Optuna search over learning rate, rank and epochs (min. validation loss)")
    add_config_args(sweep)
    sweep.add_argument("--trials", type=int, default=8, metavar="N", help="number of trials (default 8)")
    sweep.set_defaults(handler="honed.cli.train:run_sweep")
