"""The continuous batcher: batched greedy decoding equals unbatched `generate`, also when requests join a
running batch and when rows use different LoRA adapters; stop strings and sampling settings behave."""
from __future__ import annotations

import threading

import pytest
import torch

from honed.models.load import load_model
from honed.serve.backend import stop_token_ids
from honed.serve.engine import BASE_ADAPTER, Batcher, Overloaded, SamplingParams, Sequence, first_stop, hold_back


@pytest.fixture(scope="module")
def tiny():
    model, tokenizer = load_model("tiny-random", seed=0)
    return model.eval(), tokenizer


def prompts_of(lengths: list[int], seed: int = 1) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(100, 40000, (n,), generator=generator).tolist() for n in lengths]


def reference(model, prompt: list[int], max_tokens: int, stop_ids: list[int]) -> list[int]:
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=max_tokens, do_sample=False, eos_token_id=stop_ids, pad_token_id=0)
    return out[0, len(prompt):].tolist()


class Collector:
    def __init__(self, prompt, params, adapter=BASE_ADAPTER):
        self.done = threading.Event()
        self.updates = []
        self.sequence = Sequence(prompt, params, self.on_update, adapter=adapter)

    def on_update(self, update):
        self.updates.append(update)
        if update.finish_reason is not None:
            self.done.set()


def run_all(batcher, collectors, late=()):
    batcher.submit([c.sequence for c in collectors])
    if late:  # join while the first ones are still decoding
        while not collectors[0].updates:
            threading.Event().wait(0.001)
        batcher.submit([c.sequence for c in late])
    for c in [*collectors, *late]:
        assert c.done.wait(60), "a sequence never finished"


def test_batched_greedy_equals_unbatched_generate_with_late_joiners(tiny, one_thread):
    model, tokenizer = tiny
    stop_ids = stop_token_ids(tokenizer, model)
    params = SamplingParams(max_tokens=16)
    first = [Collector(p, params) for p in prompts_of([5, 23, 11])]
    late = [Collector(p, params) for p in prompts_of([30, 3], seed=2)]
    batcher = Batcher(model, tokenizer, stop_ids, max_batch=8).start()
    try:
        run_all(batcher, first, late)
    finally:
        batcher.stop()
    for c in [*first, *late]:
        expected = reference(model, c.sequence.prompt_ids, 16, stop_ids)
        assert c.sequence.generated == expected
    assert len({tuple(c.sequence.generated) for c in first + late}) > 1  # the prompts really lead apart
    assert batcher.steps < sum(len(c.sequence.generated) for c in first + late)  # forward passes were shared


def test_mixed_adapters_in_one_batch_equal_each_adapter_alone(tiny, tmp_path, one_thread):
    from peft import PeftModel
    from servekit import make_adapter_run

    model, tokenizer = load_model("tiny-random", seed=0)
    runs = [make_adapter_run(tmp_path / f"r{i}", seed=i) for i in (1, 2)]
    peft_model = PeftModel.from_pretrained(model, str(runs[0] / "adapter"), adapter_name="a")
    peft_model.load_adapter(str(runs[1] / "adapter"), adapter_name="b")
    peft_model.eval()
    stop_ids = stop_token_ids(tokenizer, model)
    prompt = prompts_of([9])[0]
    params = SamplingParams(max_tokens=10)
    collectors = [Collector(prompt, params, adapter) for adapter in ("a", "b", BASE_ADAPTER)]
    batcher = Batcher(peft_model, tokenizer, stop_ids, uses_adapters=True).start()
    try:
        run_all(batcher, collectors)
    finally:
        batcher.stop()
    outputs = {}
    for c, adapter in zip(collectors, ("a", "b", None)):
        if adapter is None:
            with peft_model.disable_adapter():
                expected = reference(peft_model, prompt, 10, stop_ids)
        else:
            peft_model.set_adapter(adapter)
            expected = reference(peft_model, prompt, 10, stop_ids)
        assert c.sequence.generated == expected
        outputs[adapter] = tuple(expected)
    assert len(set(outputs.values())) == 3  # three different models, really


def test_seeded_sampling_repeats_and_tiny_top_p_is_greedy(tiny, one_thread):
    model, tokenizer = tiny
    stop_ids = stop_token_ids(tokenizer, model)
    prompt = prompts_of([7])[0]
    batcher = Batcher(model, tokenizer, stop_ids).start()
    try:
        same = [Collector(prompt, SamplingParams(12, temperature=1.5, seed=5)) for _ in range(2)]
        other = Collector(prompt, SamplingParams(12, temperature=1.5, seed=6))
        nucleus = Collector(prompt, SamplingParams(12, temperature=1.0, top_p=1e-6, seed=1))
        run_all(batcher, [*same, other, nucleus])
    finally:
        batcher.stop()
    assert same[0].sequence.generated == same[1].sequence.generated
    assert other.sequence.generated != same[0].sequence.generated
    assert nucleus.sequence.generated == reference(model, prompt, 12, stop_ids)


def test_stop_strings_cut_and_never_leak_partially():
    assert first_stop("hello world", ("wor", "lo")) == 3
    assert first_stop("hello", ("x",)) is None
    assert hold_back("answer: fo", ("foo",)) == "answer: "
    assert hold_back("answer: f", ("foo", "fx")) == "answer: "
    assert hold_back("abc", ()) == "abc"
    assert hold_back("caf\ufffd", ()) == "caf"


def test_overloaded_queue_refuses(tiny):
    model, tokenizer = tiny
    batcher = Batcher(model, tokenizer, [2], max_waiting=2)  # not started: nothing drains the queue
    batcher.submit([Collector([5, 6], SamplingParams(2)).sequence])
    with pytest.raises(Overloaded):
        batcher.submit([Collector([5, 6], SamplingParams(2)).sequence for _ in range(2)])
