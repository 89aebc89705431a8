"""`honed train`, `honed plan`, `honed sweep` (argparse only; handlers live in honed.train.commands)."""
from __future__ import annotations


def register(verbs) -> None:
    from honed.cli import add_config_args

    train = verbs.add_parser("train", help="prepare data and train; writes a self-describing run directory")
    add_config_args(train)
    train.add_argument("--resume", metavar="RUN", help="continue a run directory from its last checkpoint")
    train.add_argument("--gpus", type=int, metavar="N",
                       help="train on N processes through `accelerate launch` (one per GPU; CPU processes if none)")
    train.add_argument("--strategy", choices=("ddp", "fsdp", "zero2", "zero3"), default="ddp",
                       help="with --gpus: DDP, FSDP or DeepSpeed ZeRO-2/3 (configs/accelerate/<strategy>.yaml)")
    train.set_defaults(handler="honed.train.commands:run_train")

    plan = verbs.add_parser("plan", help="estimate peak GPU memory for full / LoRA / QLoRA and recommend a method")
    add_config_args(plan, output=False)
    plan.add_argument("--gpu-memory", type=float, metavar="GB", help="memory of the GPU you have (e.g. 24)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler="honed.train.commands:run_plan")

    sweep = verbs.add_parser("sweep", help="Optuna search over learning rate, rank and epochs (min. validation loss)")
    add_config_args(sweep)
    sweep.add_argument("--trials", type=int, default=8, metavar="N", help="number of trials (default 8)")
    sweep.set_defaults(handler="honed.train.commands:run_sweep")
