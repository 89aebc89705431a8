"""One-forward label scoring and prefix-cached perplexity are exact, and evaluation makes tensors on the model's device.

The references are the plainest possible computations: each (prompt, label) or (prompt, answer) pair run alone
through the model with no cache, packing or mask.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

from honed.evaluate import generate, label_search, perplexity
from honed.models.load import load_model

SYSTEM = "You route customer tickets to a queue. " * 6  # long enough for the shared-prefix cache
TEXTS = ("my card was charged twice", "where is my parcel?", "reset my password please", "the app crashes")
LABELS = ["billing", "billing_disputes", "shipping", "login", "account_access", "technical_issue"]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return load_model("tiny-random", seed=5)


def conversations(system: str = SYSTEM) -> list[list[dict]]:
    return [[{"role": "system", "content": system}, {"role": "user", "content": t}] for t in TEXTS]


def prompt_ids(tokenizer, conversation) -> list[int]:
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def continuation_log_prob(model, prompt: list[int], continuation: list[int]) -> float:
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt + continuation])).logits[0].float()
    log_probs = torch.log_softmax(logits, -1)
    return sum(float(log_probs[len(prompt) - 1 + j, t]) for j, t in enumerate(continuation))


def reference_label_scores(model, tokenizer, convs, labels) -> torch.Tensor:
    end = tokenizer(generate._end_of_turn(tokenizer), add_special_tokens=False)["input_ids"]
    return torch.tensor([[continuation_log_prob(model, prompt_ids(tokenizer, c),
                                                tokenizer(label, add_special_tokens=False)["input_ids"] + end)
                          for label in labels] for c in convs])


def test_label_trie_shares_prefixes():
    trie = generate.LabelTrie([[1, 2, 9], [1, 3, 9], [4, 9]])
    assert trie.tokens == [1, 2, 9, 3, 9, 4, 9]
    assert trie.parents == [-1, 0, 1, 0, 3, -1, 5]
    assert trie.paths == [[0, 1, 2], [0, 3, 4], [5, 6]]


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("cached", [True, False])
def test_one_forward_label_scores_equal_per_label_scoring(tiny, monkeypatch, batch_size, cached):
    model, tokenizer = tiny
    if not cached:
        monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", 10**9)
    scores = generate.label_scores(model, tokenizer, conversations(), LABELS, batch_size=batch_size)
    reference = reference_label_scores(model, tokenizer, conversations(), LABELS)
    assert scores.shape == (len(TEXTS), len(LABELS))
    assert torch.allclose(scores.cpu(), reference, atol=1e-4), (scores - reference).abs().max()
    picked = label_search.score_labels(model, tokenizer, conversations(), LABELS, description="t", batch_size=batch_size)
    assert picked == [LABELS[i] for i in reference.argmax(-1).tolist()]


def test_prefix_cache_is_left_intact_after_scoring(tiny):
    model, tokenizer = tiny
    ids = [prompt_ids(tokenizer, c) for c in conversations()]
    prefix = generate._prefix_cache_for(model, ids)
    assert prefix is not None
    before = prefix.cache.layers[0].keys.clone()
    generate._score_chunk(model, prefix, ids, generate.LabelTrie([[5, 6], [5, 7]]))
    assert torch.equal(prefix.cache.layers[0].keys, before)


@pytest.mark.parametrize("system", [SYSTEM, "Route."])
def test_prefix_cached_perplexity_equals_plain(tiny, system):
    model, tokenizer = tiny
    convs = conversations(system)
    answers = ["billing", "shipping please", "login", "technical_issue now"]
    got = perplexity.answer_perplexity(model, tokenizer, convs, answers, batch_size=3)
    nll, count = 0.0, 0
    for conv, answer in zip(convs, answers):
        prompt = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template([*conv, {"role": "assistant", "content": answer}], tokenize=False)
        cont = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
        nll -= continuation_log_prob(model, prompt_ids(tokenizer, conv), cont)
        count += len(cont)
    assert math.isclose(got, math.exp(nll / count), rel_tol=1e-5)


def test_text_nll_scores_every_token_after_bos(tiny):
    model, tokenizer = tiny
    text = "the quick brown fox jumps over the lazy dog"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer(tokenizer.bos_token, add_special_tokens=False)["input_ids"]
    expected = -continuation_log_prob(model, bos, ids)
    nll, count = perplexity.text_nll(model, tokenizer, text)
    assert count == len(ids) and math.isclose(nll, expected, rel_tol=1e-5)


FACTORIES = {torch.tensor, torch.as_tensor, torch.zeros, torch.ones, torch.empty, torch.full, torch.arange,
             torch.eye, torch.rand, torch.randn, torch.randint, torch.linspace}
HONED_SRC = str(Path(generate.__file__).resolve().parents[1])


class DeviceAudit(TorchFunctionMode):
    """Records every factory call made from honed's own code that does not put the tensor on `device`."""

    def __init__(self, device: torch.device):
        super().__init__()
        self.device, self.strays = device, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES:
            caller = sys._getframe(1)
            while caller is not None and caller.f_code.co_filename.startswith(str(Path(torch.__file__).parent)):
                caller = caller.f_back
            where = caller.f_code.co_filename if caller is not None else ""
            device = kwargs.get("device")
            if where.startswith(HONED_SRC) and (device is None or torch.device(device) != self.device):
                self.strays.append(f"{func.__name__} at {Path(where).name}:{caller.f_lineno} on {device}")
        return func(*args, **kwargs)


def test_evaluation_makes_every_tensor_on_the_model_device(tiny):
    """A CUDA run would fail on any of these: honed code must pass `device=model.device` (or move with .to)."""
    model, tokenizer = tiny
    convs = conversations()
    with DeviceAudit(model.device) as audit:
        generate.generate_all(model, tokenizer, convs, max_new_tokens=3, batch_size=2, description="t")
        generate.generate_all(model, tokenizer, conversations("Hi."), max_new_tokens=3, batch_size=2,
                              description="t")
        label_search.score_labels(model, tokenizer, convs, LABELS, description="t", batch_size=2)
        label_search.score_labels(model, tokenizer, conversations("Hi."), LABELS, description="t")
        perplexity.answer_perplexity(model, tokenizer, convs, list(TEXTS))
        perplexity.text_perplexity(model, tokenizer, list(TEXTS))
    assert audit.strays == []


def test_the_device_audit_catches_a_stray_tensor(tiny):
    """The audit can fail: judged against another device, the same code's CPU tensors are all reported."""
    model, tokenizer = tiny
    with DeviceAudit(torch.device("meta")) as audit:
        perplexity.text_nll(model, tokenizer, "hello world")
    assert audit.strays and all(s.endswith("on cpu") for s in audit.strays)


def test_greedy_decoding_stops_when_every_sequence_has_ended(tiny, monkeypatch):
    """Once every row has produced the end-of-turn token, no further decoding step runs."""
    model, tokenizer = tiny
    stop = generate._stop_ids(tokenizer)[-1]
    calls = []

    def always_stop(module, inputs, output):
        calls.append(1)
        output = output.clone()
        output[..., stop] = 1e4
        return output

    handle = model.lm_head.register_forward_hook(always_stop)
    try:
        for threshold in (generate.MIN_SHARED_PREFIX, 10**9):  # prefix-cached and plain batched decoding
            monkeypatch.setattr(generate, "MIN_SHARED_PREFIX", threshold)
            calls.clear()
            answers = generate.generate_all(model, tokenizer, conversations(), max_new_tokens=20, batch_size=4,
                                            description="t")
            assert answers == [""] * len(TEXTS)
            assert len(calls) <= 2  # (the prefix pass and) the one step that produced the end token
    finally:
        handle.remove()
