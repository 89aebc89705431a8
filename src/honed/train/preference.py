"""Preference training (DPO, ORPO, KTO) through TRL, from honed preference records.

Records are `PreferencePair`s (prompt, chosen and rejected message lists) and `KTOExample`s (prompt, completion,
boolean label). DPO and ORPO take each pair as it is (conversational format, so TRL renders it with the model's
chat template); KTO learns from unpaired examples: KTO rows reach it with their own labels, and each pair becomes
one desirable and one undesirable completion. With a PEFT method the reference model is the
base with the adapter switched off (no second copy in memory); full fine-tuning keeps a frozen copy.

`preference_scores` measures what preference training should move: the log-probability margin between the
chosen and the rejected answer, and the share of pairs where the chosen one is more likely (preference accuracy).
"""
from __future__ import annotations

from pathlib import Path

from honed.core.chat import trl_messages
from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.records import KTOExample, PreferencePair, as_record
from honed.core.rundir import RunDir
from honed.train.loop import TrainResult, make_callbacks, resolve_objective, run_trainer, trainer_arguments
from honed.train.methods import peft_config_for


def pair_rows(records: list) -> list[dict]:
    """DPO/ORPO rows in TRL's conversational preference format (every turn of a multi-turn answer kept)."""
    return [{"prompt": trl_messages(r.prompt), "chosen": trl_messages(r.chosen), "rejected": trl_messages(r.rejected)}
            for r in map(as_record, records) if isinstance(r, PreferencePair)]


def unpaired_rows(records: list) -> list[dict]:
    """KTO rows: each KTO example with its own label; each pair as a desirable and an undesirable completion."""
    rows = []
    for r in map(as_record, records):
        if isinstance(r, KTOExample):
            rows.append({"prompt": trl_messages(r.prompt), "completion": trl_messages(r.completion), "label": r.label})
        elif isinstance(r, PreferencePair):
            rows += [{"prompt": trl_messages(r.prompt), "completion": trl_messages(answer), "label": label}
                     for answer, label in ((r.chosen, True), (r.rejected, False))]
    return rows


def _trainer_classes(objective: str):
    if objective == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOConfig, DPOTrainer, pair_rows
    if objective == "kto":
        from trl import KTOConfig, KTOTrainer

        return KTOConfig, KTOTrainer, unpaired_rows
    if objective == "orpo":
        import warnings

        with warnings.catch_warnings():  # TRL keeps ORPO under `experimental` and says so on import
            warnings.simplefilter("ignore")
            from trl.experimental.orpo import ORPOConfig, ORPOTrainer
        return ORPOConfig, ORPOTrainer, pair_rows
    raise HonedError(f"`{objective}` is not a preference objective", "use dpo, orpo or kto")


def train_preference(cfg: Config, model, tokenizer, train_records: list[dict], eval_records: list[dict],
                     run: RunDir, resume_from: Path | None = None) -> TrainResult:
    """Train `model` on preference pairs with the configured objective (dpo, orpo or kto)."""
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()
    objective = resolve_objective(cfg, train_records)
    config_cls, trainer_cls, to_rows = _trainer_classes(objective)
    train_rows, eval_rows = to_rows(train_records), to_rows(eval_records)
    if not train_rows:
        raise HonedError(f"{objective} needs preference pairs (or KTO examples) and the training split holds none",
                         'give rows like {"prompt": "...", "chosen": "...", "rejected": "..."} or, for KTO, '
                         '{"prompt": "...", "completion": "...", "label": true}')
    has_eval = bool(eval_rows)
    extra = {"include_num_input_tokens_seen": "no"} if objective == "orpo" else {}  # ORPO's rows have no input_ids
    args = trainer_arguments(config_cls, cfg, run.path / "checkpoints", has_eval, beta=cfg.train.beta,
                             max_length=cfg.model.max_length, remove_unused_columns=False, **extra)
    trainer = trainer_cls(model=model, args=args, processing_class=tokenizer,
                          train_dataset=Dataset.from_list(train_rows),
                          eval_dataset=Dataset.from_list(eval_rows) if has_eval else None,
                          peft_config=peft_config_for(cfg.method), callbacks=make_callbacks(cfg, run, has_eval))
    return run_trainer(trainer, cfg, run, tokenizer, objective, resume_from=resume_from)


def completion_logprob(model, tokenizer, prompt: list[dict], answer: list[dict]) -> float:
    """Sum of the log-probabilities of `answer`'s tokens (and end of turn) after the rendered `prompt`."""
    return answer_logprobs(model, tokenizer, prompt, answer)[0]


def answer_logprobs(model, tokenizer, prompt: list[dict], answer: list[dict]) -> tuple[float, int]:
    """(sum of log-probabilities, number of tokens) of `answer` after the rendered `prompt`."""
    import torch

    from honed.core.chat import TemplateError, render_chat, render_prompt

    head = render_prompt(tokenizer, prompt)
    full = render_chat(tokenizer, prompt + answer)
    if not full.startswith(head):
        raise TemplateError("the chat template does not render the prompt as a prefix of the answered conversation",
                            "use a model whose chat template renders conversations prefix by prefix")
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full.rstrip("\n"), add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0, :-1].float()
    logps = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:], device=device)[:, None])[:, 0]
    answer_logps = logps[len(head_ids) - 1:]
    return float(answer_logps.sum()), int(answer_logps.numel())


def pair_margins(model, tokenizer, records: list) -> list[float]:
    """Per pair, log p(chosen | prompt) − log p(rejected | prompt) under `model`."""
    was_training = model.training
    model.eval()
    pairs = [r for r in map(as_record, records) if isinstance(r, PreferencePair)]
    margins = [completion_logprob(model, tokenizer, r.prompt, r.chosen)
               - completion_logprob(model, tokenizer, r.prompt, r.rejected) for r in pairs]
    model.train(was_training)
    return margins


def preference_scores(model, tokenizer, records: list) -> dict:
    """Mean chosen-minus-rejected log-probability margin and preference accuracy over preference records."""
    margins = pair_margins(model, tokenizer, records)
    return {"pairs": len(margins), "margin": sum(margins) / max(len(margins), 1),
            "accuracy": sum(m > 0 for m in margins) / max(len(margins), 1)}


def kto_logprobs(model, tokenizer, records: list) -> list[tuple[bool, float]]:
    """(label, mean log-probability per completion token) of every KTO example under `model`."""
    was_training = model.training
    model.eval()
    out = []
    for r in (r for r in map(as_record, records) if isinstance(r, KTOExample)):
        total, n = answer_logprobs(model, tokenizer, r.prompt, r.completion)
        out.append((r.label, total / max(n, 1)))
    model.train(was_training)
    return out

