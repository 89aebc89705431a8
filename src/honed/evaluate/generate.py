"""Fast inference for evaluation: batched greedy generation and label scoring.

Generation pads on the left so every row's prompt ends at the same position and the KV cache is reused across
decoding steps. Label scoring computes log P(label | prompt) for each candidate label: the prompt runs once,
its KV cache is copied across the labels, and only the label tokens are scored, so a small model is not
penalised for formatting its answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from honed.progress import make_progress
from honed.train.render import render_prompt


@dataclass
class Prediction:
    output: str
    decoding: str  # "greedy" or "label_scoring"


def generate_batch(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    import torch

    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_ids(tokenizer))
    new_tokens = out[:, batch["input_ids"].shape[1]:]
    return [t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def generate_all(model, tokenizer, conversations: list[list[dict]], *, max_new_tokens: int, batch_size: int,
                 description: str) -> list[str]:
    """Greedy answers for each conversation (its last turn must be the user's), with a progress bar."""
    model.eval()
    prompts = [render_prompt(tokenizer, c) for c in conversations]
    # Similar lengths in one batch waste less padding; answers are put back in the original order.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    outputs: list[str] = [""] * len(prompts)
    with make_progress() as progress:
        task = progress.add_task(description, total=len(prompts), info="greedy")
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            for i, text in zip(chunk, generate_batch(model, tokenizer, [prompts[i] for i in chunk], max_new_tokens)):
                outputs[i] = text
            progress.advance(task, len(chunk))
    return outputs


def score_labels(model, tokenizer, conversations: list[list[dict]], labels: list[str], *,
                 description: str) -> list[str]:
    """For each conversation, the label with the highest total log-likelihood as the assistant's answer."""
    import torch

    model.eval()
    label_ids = [tokenizer(label, add_special_tokens=False)["input_ids"] for label in labels]
    end_ids = tokenizer(_end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    label_ids = [ids + end_ids for ids in label_ids]  # "billing" must not win over "billing_disputes"
    width = max(len(ids) for ids in label_ids)
    pad = tokenizer.pad_token_id
    padded = torch.tensor([ids + [pad] * (width - len(ids)) for ids in label_ids])
    valid = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in label_ids])
    best: list[str] = []
    with make_progress() as progress, torch.inference_mode():
        task = progress.add_task(description, total=len(conversations), info="label scoring")
        for conversation in conversations:
            prompt = tokenizer(render_prompt(tokenizer, conversation), add_special_tokens=False,
                               return_tensors="pt")["input_ids"]
            scores = _label_log_likelihoods(model, prompt, padded, valid)
            best.append(labels[int(scores.argmax())])
            progress.advance(task)
    return best


def _label_log_likelihoods(model, prompt, padded, valid):
    """Sum of log-probs of each label's tokens after `prompt` (one prompt pass, cache shared by all labels)."""
    import torch

    n = padded.shape[0]
    out = model(input_ids=prompt, use_cache=True)
    cache = out.past_key_values
    cache.batch_repeat_interleave(n)
    first = torch.log_softmax(out.logits[0, -1].float(), -1)[padded[:, 0]]
    attention = torch.ones(n, prompt.shape[1] + padded.shape[1], dtype=torch.long)
    rest = model(input_ids=padded, past_key_values=cache, attention_mask=attention).logits.float()
    logp = torch.log_softmax(rest[:, :-1], -1).gather(-1, padded[:, 1:, None]).squeeze(-1)
    return first + (logp * valid[:, 1:]).sum(-1)


def _end_of_turn(tokenizer) -> str:
    """The text the template puts after an assistant answer (e.g. `<|im_end|>`), found by rendering one."""
    probe = tokenizer.apply_chat_template([{"role": "user", "content": "x"}, {"role": "assistant", "content": "§"}],
                                          tokenize=False)
    tail = probe[probe.rindex("§") + 1:]
    return tail.rstrip("\n") or (tokenizer.eos_token or "")


def _stop_ids(tokenizer) -> list[int]:
    ids = {tokenizer.eos_token_id}
    end = _end_of_turn(tokenizer)
    end_ids = tokenizer(end, add_special_tokens=False)["input_ids"] if end else []
    if len(end_ids) == 1:
        ids.add(end_ids[0])
    return sorted(i for i in ids if i is not None)
