"""FSDP on CPU: torch's FSDP2 (`fully_shard`) over gloo, in a small training loop beside the Trainer path.

accelerate never shards on CPU and refuses a model sharded by torch's FSDP2 (docs/scale.md, "FSDP on CPU"), so
`honed train --gpus N --strategy fsdp` on a machine without CUDA runs this loop under torchrun instead. Each
decoder layer is its own FSDP unit (its parameters are all-gathered for its forward and backward, then freed
again) and the root holds the rest (embeddings, final norm, LM head); every rank keeps 1/N of each parameter, its
gradient and its Adam state.

It trains what the Trainer path trains, the same way, so N processes with `train.batch_size` B each give the
losses of one process with batch N×B:
- the same rows (honed.train.sft tokenizes them), in the same order (accelerate's seeded sampler, or honed's
  prefix-grouped order), packed by the same collator with logits only where the loss is (honed.train.fast);
- each step's global batch is cut into N contiguous slices, one per rank (as accelerate splits a DDP batch);
- each rank's loss is its summed token losses over the GLOBAL supervised token count (all-reduced). FSDP averages
  the reduce-scattered gradients over the ranks, so the loss is scaled by N: the update is one process's;
- the optimizer and the schedule are the Trainer's own (built from the same TrainingArguments).

The Trainer path's checkpoints and --resume, early stopping, trackers, preference objectives, prefix/prompt
tuning (their virtual tokens cannot ride a packed row) and gradient checkpointing are not here: asking for one
is refused with the reason. Validation loss is the token-weighted mean over the validation split.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.progress import console, make_progress
from honed.core.rundir import RunDir
from honed.train.fast import MIN_SHARED_PREFIX, prefix_grouped_order

STRATEGY_ENV = "HONED_STRATEGY"  # set by `honed train --gpus N --strategy fsdp` for the processes it launches
LABEL = "fsdp2-cpu"


def fsdp_on_cpu() -> bool:
    """This process was launched by `--strategy fsdp` without CUDA (with CUDA, accelerate's own FSDP runs)."""
    if os.environ.get(STRATEGY_ENV) != "fsdp" or "LOCAL_RANK" not in os.environ:  # not under its torchrun launch
        return False
    import torch

    return not torch.cuda.is_available()


def init_process_group() -> tuple[int, int]:
    """The gloo group from torchrun's env (RANK, WORLD_SIZE, MASTER_ADDR/PORT); returns (rank, world size).

    accelerate's PartialState is then told it is a CPU run: honed's RunDir asks it which process is the main one,
    and without `cpu=True` it would see no device and call every rank the main process."""
    import torch.distributed as dist
    from accelerate import PartialState

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    PartialState(cpu=True)
    return dist.get_rank(), dist.get_world_size()


# --- pure planning: which rows each rank trains on at each step ---------------------------------------------------


def epoch_order(token_lists: list[list[int]], batch_size: int, seed: int, epoch: int) -> list[int]:
    """The Trainer path's row order for `epoch`: accelerate's SeedableRandomSampler (a permutation seeded with
    seed + epoch), or honed's prefix-grouped order when the rows start differently (honed.train.fast)."""
    if len({tuple(ids[:MIN_SHARED_PREFIX]) for ids in token_lists}) >= 2:
        return prefix_grouped_order(token_lists, batch_size, seed + epoch)
    import torch

    return torch.randperm(len(token_lists), generator=torch.Generator().manual_seed(seed + epoch)).tolist()


def global_batches(order: list[int], size: int) -> list[list[int]]:
    """`order` cut into global batches of `size` rows; the last may be short (the Trainer keeps it too)."""
    return [order[i:i + size] for i in range(0, len(order), size)]


def rank_share(batch: list[int], rank: int, world: int) -> list[int]:
    """Rank `rank`'s contiguous slice of a global batch (the last ranks' slices may be short or empty)."""
    per = math.ceil(len(batch) / world)
    return batch[rank * per:(rank + 1) * per]


def micro_chunks(rows: list[int], per_rank: int, micro: int) -> list[list[int]]:
    """`rows` in chunks of `micro`, always ceil(per_rank / micro) of them (some may be empty): FSDP's collectives
    pair up across ranks, so every rank must run as many forwards and backwards."""
    return [rows[i * micro:(i + 1) * micro] for i in range(math.ceil(per_rank / micro))]


def total_steps(rows: int, global_batch: int, epochs: float, max_steps: int | None) -> int:
    """Optimizer steps: `max_steps`, else `epochs` passes of ceil(rows / global batch) steps (as the Trainer)."""
    return max_steps or max(1, math.ceil(epochs * math.ceil(rows / global_batch)))


def evaluation_due(step: int, steps_per_epoch: int, last_step: int, eval_every: int) -> bool:
    """Validation after every `eval_every` steps, else at each epoch's end; always after the last step."""
    if step == last_step:
        return True
    return step % eval_every == 0 if eval_every else step % steps_per_epoch == 0


def supervised_tokens(row: dict) -> int:
    """Loss terms a row contributes: position i is trained when token i+1 is (honed.train.fast)."""
    return sum(row["assistant_masks"][1:])


# --- the model --------------------------------------------------------------------------------------------------


def decoder_layers(model) -> list:
    """The transformer blocks, found by class name so PEFT wrappers and other architectures need no path."""
    return [m for m in model.modules() if type(m).__name__.endswith("DecoderLayer")]


def shard(model, world: int) -> dict:
    """`fully_shard` each decoder layer, then the root; returns what one weight looks like across the ranks."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    layers = decoder_layers(model)
    if not layers:
        raise HonedError(f"FSDP on CPU found no decoder layers in {type(model).__name__} (no module class ending "
                         "in `DecoderLayer`)", "use the default DDP strategy for this model")
    layer_class = type(layers[0]).__name__  # fully_shard renames the class (FSDP<name>)
    mesh = init_device_mesh("cpu", (world,))
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    name, weight = next((n, p) for n, p in model.named_parameters() if ".layers.0." in n and p.dim() == 2)
    shapes = [None] * world
    dist.all_gather_object(shapes, list(weight.to_local().shape))
    return {"units": len(layers) + 1, "layer_class": layer_class, "example": name,
            "full_shape": list(weight.shape), "local_shapes": shapes}


def check_supported(cfg: Config, objective: str, resume_from: Path | None) -> None:
    """What the Trainer path does that this loop does not: refused by name, never silently skipped."""
    t = cfg.train
    unsupported = {"--resume": resume_from is not None, f"train.objective {objective}": objective not in ("sft",
                   "pretrain"), f"method.kind {cfg.method.kind}": cfg.method.kind in ("prefix", "prompt", "qlora"),
                   "train.gradient_checkpointing": t.gradient_checkpointing,
                   "train.early_stopping_patience": bool(t.early_stopping_patience),
                   "train.report_to": bool(t.report_to)}
    asked = [name for name, on in unsupported.items() if on]
    if asked:
        raise HonedError(f"FSDP on CPU (torch FSDP2, honed's own loop) does not support {', '.join(asked)}",
                         "drop it, or use the default DDP strategy on CPU (the Trainer path, which does)")


# --- one global batch --------------------------------------------------------------------------------------------


def all_reduce_sum(value: float):
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(float(value), dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.item()


def summed_loss(model, batch: dict):
    """Summed cross-entropy over the supervised positions of one packed row (the collator kept only those)."""
    import torch.nn.functional as F

    targets = batch.pop("shift_labels")[0]
    batch.pop("labels")
    logits = model(**batch).logits[0].float()
    return F.cross_entropy(logits, targets, reduction="sum")


def run_batch(model, collator, rows: list[dict], batch: list[int], micro: int, train: bool, bf16: bool):
    """This rank's share of one global batch; returns (global mean loss, global supervised tokens, global rows'
    tokens). With `train`, gradients of the global mean accumulate (see the module docstring)."""
    import torch
    import torch.distributed as dist

    rank, world = dist.get_rank(), dist.get_world_size()
    mine = rank_share(batch, rank, world)
    total = all_reduce_sum(sum(supervised_tokens(rows[i]) for i in mine))
    summed = 0.0
    for chunk in micro_chunks(mine, math.ceil(len(batch) / world), micro):
        features = [rows[i] for i in chunk] or [rows[batch[0]]]  # an empty chunk still runs, weighted 0
        with torch.set_grad_enabled(train), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = summed_loss(model, collator(features)) * (1.0 if chunk else 0.0)
        if train:
            (loss * world / total).backward()
        summed += loss.item()
    tokens = all_reduce_sum(sum(len(rows[i]["input_ids"]) for i in mine))
    return all_reduce_sum(summed) / total, total, tokens


def validation_loss(model, collator, rows: list[dict], size: int, micro: int, bf16: bool) -> float:
    """Token-weighted mean loss over the validation rows, in global batches of `size`."""
    model.eval()
    summed = count = 0.0
    for batch in global_batches(list(range(len(rows))), size):
        mean, tokens, _ = run_batch(model, collator, rows, batch, micro, train=False, bf16=bf16)
        summed, count = summed + mean * tokens, count + tokens
    model.train()
    return summed / count


# --- the loop ----------------------------------------------------------------------------------------------------


def train_fsdp(cfg: Config, model, tokenizer, train_records: list[dict], eval_records: list[dict], run: RunDir,
               resume_from: Path | None = None):
    """Shard `model` over the gloo group and train it; the adapter (or full model) lands in `run/adapter` as the
    Trainer path writes it. Returns the TrainResult (on the main process its model is an unsharded copy)."""
    import torch.distributed as dist
    from transformers import set_seed

    from honed.train.fast import use_segment_attention
    from honed.train.loop import TrainResult, resolve_objective
    from honed.train.methods import check_model_fits_method, count_parameters

    check_model_fits_method(model, cfg.method)
    objective = resolve_objective(cfg, train_records)
    check_supported(cfg, objective, resume_from)
    train_rows, eval_rows, skipped = tokenized_rows(cfg, tokenizer, objective, train_records, eval_records, run)
    use_segment_attention(model)  # the packed rows' attention (honed.train.fast)
    model = with_method(cfg, model)
    set_seed(cfg.train.seed)  # as Trainer.__init__ does after the adapter is made (dropout draws from here)
    trainable, total = count_parameters(model)
    world = dist.get_world_size()
    sharding = shard(model, world)
    if run.is_main:
        console.print(f"{objective} · {cfg.method.kind}: training {trainable:,} of {total:,} parameters "
                      f"({100 * trainable / max(total, 1):.2f}%), FSDP2 over {world} CPU processes "
                      f"({sharding['units']} units; {sharding['example']} {sharding['full_shape']} → "
                      f"{sharding['local_shapes'][0]} per rank)")
    run.meta.update(trainable_params=trainable, total_params=total, objective=objective, method=cfg.method.kind,
                    strategy=LABEL, world_size=world, sharding=sharding)
    started = time.perf_counter()
    history = fit(cfg, model, train_rows, eval_rows, run)
    seconds = time.perf_counter() - started
    adapter_dir = run.path / "adapter"
    saved = save_unsharded(cfg, model, tokenizer, adapter_dir, run.is_main)
    result = TrainResult(model=saved or model, adapter_dir=adapter_dir, train_loss=history["train"],
                         eval_loss=history["eval"], trainable_params=trainable, total_params=total,
                         tokens_per_second=history["tokens"] / max(seconds, 1e-9), seconds=seconds,
                         skipped_too_long=len(skipped), objective=objective)
    run.meta.update(global_step=history["steps"], training=result.figures())
    run.write_meta()
    return result


def tokenized_rows(cfg: Config, tokenizer, objective: str, train_records, eval_records, run: RunDir):
    """The rows the Trainer path would train on (honed.train.sft), skipped ones written beside them."""
    from honed.train.sft import _write_skipped
    from honed.train.sft import tokenized_rows as rows_for_training

    train_rows, eval_rows, skipped = rows_for_training(cfg, tokenizer, objective, train_records, eval_records)
    if run.is_main:
        _write_skipped(run.path, skipped)
    return train_rows, eval_rows, skipped


def with_method(cfg: Config, model):
    """The PEFT wrapper of `cfg.method` (none for full fine-tuning)."""
    from honed.train.methods import peft_config_for

    peft_config = peft_config_for(cfg.method)
    if peft_config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, peft_config)


def optimizer_and_schedule(cfg: Config, model, steps: int, output: Path):
    """The Trainer's own optimizer (AdamW, weight decay off for biases and norms) and learning-rate schedule,
    from the TrainingArguments the Trainer path builds."""
    from transformers import Trainer, TrainingArguments, get_scheduler

    from honed.train.loop import trainer_arguments

    args = trainer_arguments(TrainingArguments, cfg, output, has_eval=False)
    decay = set(Trainer.get_decay_parameter_names(None, model))  # uses no Trainer state
    groups = [{"params": [p for n, p in model.named_parameters() if p.requires_grad and (n in decay) == wanted],
               "weight_decay": args.weight_decay if wanted else 0.0} for wanted in (True, False)]
    optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    optimizer = optimizer_cls([g for g in groups if g["params"]], **kwargs)
    schedule = get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.get_warmup_steps(steps),
                             num_training_steps=steps, scheduler_specific_kwargs=args.lr_scheduler_kwargs)
    return optimizer, schedule, args


def fit(cfg: Config, model, train_rows: list[dict], eval_rows: list[dict], run: RunDir) -> dict:
    """The optimizer steps, with validation when due; each step's figures go to metrics.jsonl and the store
    (`num_input_tokens_seen` counts the rows' real tokens, shared prefixes included)."""
    import torch.distributed as dist

    from honed.train.fast import PackedSupervisedCollator, micro_batch
    from honed.train.recipe import concrete

    t = cfg.train
    size = t.batch_size * t.grad_accum * dist.get_world_size()
    micro = micro_batch(t.batch_size, [len(r["input_ids"]) for r in train_rows])
    per_epoch = math.ceil(len(train_rows) / size)
    steps = total_steps(len(train_rows), size, concrete(t, "epochs"), t.max_steps)
    optimizer, schedule, args = optimizer_and_schedule(cfg, model, steps, run.path / "checkpoints")
    collator, token_lists = PackedSupervisedCollator(), [r["input_ids"] for r in train_rows]
    history: dict = {"train": [], "eval": [], "tokens": 0.0, "steps": 0}
    progress = StepProgress(steps) if run.is_main else None
    model.train()
    batches: dict[int, list[list[int]]] = {}  # this epoch's global batches, drawn once per epoch
    for step in range(1, steps + 1):
        epoch, index = divmod(step - 1, per_epoch)
        if epoch not in batches:
            batches = {epoch: global_batches(epoch_order(token_lists, size, t.seed, epoch), size)}
        batch = batches[epoch][index]
        values = optimizer_step(model, collator, train_rows, batch, micro, bool(args.bf16), optimizer, schedule,
                                t.max_grad_norm)
        history["tokens"] += values.pop("tokens")
        values.update(epoch=step / per_epoch, num_input_tokens_seen=history["tokens"])
        if eval_rows and evaluation_due(step, per_epoch, steps, t.eval_every):
            values["eval_loss"] = validation_loss(model, collator, eval_rows, size, micro, bool(args.bf16))
            values["eval_perplexity"] = math.exp(min(values["eval_loss"], 50))
            history["eval"].append((step, values["eval_loss"]))
        record_step(run, step, values, args.learning_rate)
        history["train"].append((step, values["loss"]))
        history["steps"] = step
        if progress:
            progress.show(step, values)
    if progress:
        progress.stop()
    return history


def optimizer_step(model, collator, rows, batch, micro, bf16, optimizer, schedule, max_grad_norm: float) -> dict:
    """One global batch forward and backward, clipped, stepped; the step's loss, gradient norm (before clipping),
    learning rate (the one this step used) and tokens, as the Trainer path logs them."""
    import torch

    loss, _, tokens = run_batch(model, collator, rows, batch, micro, train=True, bf16=bf16)
    norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
    rate = schedule.get_last_lr()[0]
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm  # a DTensor over the shards
    return {"loss": loss, "grad_norm": float(norm), "learning_rate": rate, "tokens": tokens}


class StepProgress:
    """The main process's rich bar over optimizer steps with the latest training and validation loss."""

    def __init__(self, steps: int):
        self.progress = make_progress()
        self.progress.start()
        self.task = self.progress.add_task("training", total=steps, info="")

    def show(self, step: int, values: dict) -> None:
        shown = [f"{k.replace('eval_', 'val ')} {values[k]:.4f}" for k in ("loss", "eval_loss") if k in values]
        self.progress.update(self.task, completed=step, info=" · ".join(shown))

    def stop(self) -> None:
        self.progress.stop()


def record_step(run: RunDir, step: int, values: dict, learning_rate: float) -> None:
    """Log the step (main process only, as the Trainer path's MetricsCallback); a non-finite loss or gradient norm
    fails the run on every rank (each rank holds the same all-reduced figures)."""
    from honed.train.callbacks import divergence_error, non_finite

    run.log(step, **values)
    bad = non_finite(values)
    if bad:
        error = divergence_error(step, bad, learning_rate)
        run.meta["error"] = error.problem
        run.finish("failed")
        raise error


def save_unsharded(cfg: Config, model, tokenizer, adapter_dir: Path, is_main: bool):
    """Gather the full state dict onto the main process (every rank takes part), load it into a fresh unsharded
    copy of the model and save that as the Trainer path does (honed.train.loop.save_model). Returns the copy on
    the main process, None elsewhere."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not is_main:
        return None
    from honed.train.loop import save_model
    from honed.train.methods import load_for_training

    copy, _ = load_for_training(cfg)
    copy = with_method(cfg, copy)  # keeps its own attention: evaluation pads and caches
    copy.load_state_dict(full, strict=True)
    save_model(copy, tokenizer, adapter_dir, cfg.model.base)
    return copy
