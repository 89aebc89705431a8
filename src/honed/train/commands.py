"""Handler for `honed train`."""
from __future__ import annotations

from pathlib import Path

from honed.commands import default_output
from honed.config import load_config
from honed.errors import HonedError
from honed.progress import console


def run_train(args) -> int:
    from honed.data.prepare import run_prepare
    from honed.pipeline import load_with_status, subsample
    from honed.rundir import RunDir
    from honed.train.sft import train_sft

    if args.resume:
        raise HonedError("`--resume` is not available yet", "start a new run without --resume")
    cfg = load_config(args.config, args.overrides)
    output = Path(args.output) if args.output else default_output(cfg, "train")
    data = run_prepare(cfg, output / "data")
    model, tokenizer = load_with_status(cfg)
    run = RunDir.create(output, "train", cfg, data.dataset_hash)
    result = train_sft(cfg, model, tokenizer, subsample(data.splits["train"], cfg.train.max_train_examples,
                                                        cfg.train.seed), data.splits["validation"], run)
    run.finish(train_seconds=result.seconds, final_loss=result.train_loss[-1][1] if result.train_loss else None)
    console.print(f"trained {result.trainable_params:,} of {result.total_params:,} parameters in "
                  f"{result.seconds:.0f} s; adapter in {result.adapter_dir}")
    print(output)
    return 0
