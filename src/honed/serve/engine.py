"""Continuous batching: one worker thread steps every active sequence together, one token per step.

Requests wait in a thread-safe queue. Between steps the worker admits waiting sequences: it prefills them
(left-padded, one forward pass), then merges their KV cache into the running batch's cache by padding the shorter
one on the left, so new requests join without waiting for the batch to drain. Finished sequences leave the
batch (rows dropped, all-padding columns trimmed). Positions come from the attention mask, so a row's numbers
never depend on its neighbours' lengths: batched greedy decoding equals unbatched greedy decoding.

Several LoRA adapters over one base share the batch: each row names its adapter and PEFT's `adapter_names=`
routes it (`__base__` = the base model alone). Changes to the model (loading a new version's adapter, unloading
one nobody uses any more) run on the worker thread between steps (`call_between_steps`, `retire_adapter`), so a
forward pass never sees a half-changed model and rows already decoding keep their adapter to the end.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

log = logging.getLogger("honed.serve")

BASE_ADAPTER = "__base__"  # PEFT's name for "no adapter" in a mixed batch


class Overloaded(Exception):
    """More sequences waiting than the server accepts: the caller answers 429."""


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class Update:
    """What a sequence has produced so far: `text` is safe to show (no partial stop string or character)."""

    text: str
    finish_reason: str | None
    completion_tokens: int


@dataclass(eq=False)
class Sequence:
    prompt_ids: list[int]
    params: SamplingParams
    on_update: Callable[[Update], None]
    adapter: str = BASE_ADAPTER
    generated: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    cancelled: bool = False
    generator: object = None  # torch.Generator when sampling


class Batcher:
    """Owns the model while running; `submit` is safe from any thread."""

    def __init__(self, model, tokenizer, stop_ids: list[int], *, max_batch: int = 32, max_waiting: int = 256,
                 uses_adapters: bool = False):
        self.model, self.tokenizer, self.stop_ids = model, tokenizer, set(stop_ids)
        self.max_batch, self.max_waiting, self.uses_adapters = max_batch, max_waiting, uses_adapters
        self._waiting: queue.Queue[Sequence | None] = queue.Queue()
        self._active: list[Sequence] = []
        self._cache = None
        self._mask = None  # [batch, cached length + 1]: 1 where a position holds a real token
        self._stopping = threading.Event()
        self._tasks: queue.Queue[tuple[Callable[[], object], Future]] = queue.Queue()
        self._retired: dict[str, Callable[[str], None]] = {}  # adapter key → how to unload it (worker only)
        self._thread = threading.Thread(target=self._run, name="honed-batcher", daemon=True)
        self.steps = 0  # forward passes, for /metrics

    # --- public ---------------------------------------------------------------------------------------------
    def start(self) -> "Batcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._waiting.put(None)
        self._thread.join(timeout=30)

    def submit(self, sequences: list[Sequence]) -> None:
        if self._waiting.qsize() + len(sequences) > self.max_waiting:
            raise Overloaded(f"{self._waiting.qsize()} sequences already waiting (limit {self.max_waiting})")
        for sequence in sequences:
            if sequence.params.temperature > 0:
                sequence.generator = _generator(sequence.params.seed)
            self._waiting.put(sequence)

    def call_between_steps(self, task: Callable[[], object]) -> Future:
        """Run `task` on the worker thread before its next step (never during a forward pass); its result or
        exception lands in the returned future."""
        future: Future = Future()
        self._tasks.put((task, future))
        self._waiting.put(None)  # wakes an idle worker (None is skipped at admission)
        return future

    def retire_adapter(self, key: str, unload: Callable[[str], None]) -> None:
        """Unload adapter `key` (on the worker) as soon as no running or waiting sequence uses it."""
        self.call_between_steps(lambda: self._retired.__setitem__(key, unload))

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def waiting(self) -> int:
        return self._waiting.qsize()

    # --- the worker -----------------------------------------------------------------------------------------
    def _run(self) -> None:
        import torch

        with torch.inference_mode():
            while not self._stopping.is_set():
                self._between_steps()
                try:
                    admitted = self._admit(block=not self._active)
                    if admitted:
                        self._prefill(admitted)
                    elif self._active:
                        self._decode_step()
                except Exception as exc:  # a failed step ends its sequences, never the server
                    log.exception("generation step failed")
                    self._fail_all(f"error: {exc}")

    def _between_steps(self) -> None:
        import torch

        while not self._tasks.empty():
            task, future = self._tasks.get_nowait()
            try:
                with torch.inference_mode(False):  # loaded weights must be ordinary tensors
                    future.set_result(task())
            except Exception as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)
        if self._retired:
            self._unload_unused()

    def _unload_unused(self) -> None:
        with self._waiting.mutex:
            in_use = {s.adapter for s in self._waiting.queue if s is not None and not s.cancelled}
        in_use |= {s.adapter for s in self._active}
        for key in [k for k in self._retired if k not in in_use]:
            unload = self._retired.pop(key)
            try:
                unload(key)
            except Exception:  # noqa: BLE001 - a leftover adapter costs memory, never answers
                log.exception("unloading adapter %s failed", key)

    def _admit(self, block: bool) -> list[Sequence]:
        admitted = []
        while len(self._active) + len(admitted) < self.max_batch:
            try:
                item = self._waiting.get(timeout=0.5) if block and not admitted else self._waiting.get_nowait()
            except queue.Empty:
                break
            if item is None:
                break
            if not item.cancelled:
                admitted.append(item)
        return admitted

    def _prefill(self, sequences: list[Sequence]) -> None:
        import torch
        from transformers import DynamicCache

        width = max(len(s.prompt_ids) for s in sequences)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([[pad] * (width - len(s.prompt_ids)) + s.prompt_ids for s in sequences])
        mask = torch.tensor([[0] * (width - len(s.prompt_ids)) + [1] * len(s.prompt_ids) for s in sequences])
        cache = DynamicCache()
        logits = self._forward(ids, mask, (mask.cumsum(-1) - 1).clamp(min=0), cache, sequences)
        self._merge(sequences, cache, mask)
        self._advance(sequences, logits)

    def _decode_step(self) -> None:
        import torch

        ids = torch.tensor([[s.generated[-1]] for s in self._active])
        self._mask = torch.cat([self._mask, torch.ones(len(self._active), 1, dtype=self._mask.dtype)], dim=1)
        positions = self._mask.sum(-1, keepdim=True) - 1
        logits = self._forward(ids, self._mask, positions, self._cache, self._active)
        self._advance(self._active, logits)

    def _forward(self, ids, mask, positions, cache, sequences):
        extra = {"adapter_names": [s.adapter for s in sequences]} if self.uses_adapters else {}
        out = self.model(input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device),
                         position_ids=positions.to(self.model.device), past_key_values=cache, use_cache=True,
                         logits_to_keep=1, **extra)
        self.steps += 1
        return out.logits[:, -1].float()

    def _merge(self, sequences: list[Sequence], cache, mask) -> None:
        """Join a freshly prefilled group to the running batch: left-pad the shorter cache, stack rows."""
        import torch
        from torch.nn.functional import pad
        from transformers import DynamicCache

        if not self._active:
            self._active, self._cache, self._mask = list(sequences), cache, mask
            return
        old_len, new_len = self._mask.shape[1], mask.shape[1]
        width = max(old_len, new_len)
        layers = []
        for old, new in zip(self._cache.layers, cache.layers):
            keys = torch.cat([pad(old.keys, (0, 0, width - old_len, 0)), pad(new.keys, (0, 0, width - new_len, 0))])
            values = torch.cat([pad(old.values, (0, 0, width - old_len, 0)),
                                pad(new.values, (0, 0, width - new_len, 0))])
            layers.append((keys, values))
        self._cache = DynamicCache(layers)
        self._mask = torch.cat([pad(self._mask, (width - old_len, 0)), pad(mask, (width - new_len, 0))])
        self._active = self._active + list(sequences)

    def _advance(self, sequences: list[Sequence], logits) -> None:
        tokens = choose_tokens(logits, [s.params for s in sequences], [s.generator for s in sequences])
        for sequence, token in zip(sequences, tokens):
            self._append(sequence, token)
        self._drop_finished()

    def _append(self, sequence: Sequence, token: int) -> None:
        if sequence.cancelled:
            sequence.finish_reason = "cancelled"
            return
        sequence.generated.append(token)
        text, reason = self._visible_text(sequence, ended_by_token=token in self.stop_ids)
        sequence.finish_reason = reason
        sequence.on_update(Update(text, reason, len(sequence.generated)))

    def _visible_text(self, sequence: Sequence, ended_by_token: bool) -> tuple[str, str | None]:
        ids = sequence.generated[:-1] if ended_by_token else sequence.generated
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        cut = first_stop(text, sequence.params.stop)
        if cut is not None:
            return text[:cut], "stop"
        if ended_by_token:
            return text, "stop"
        if len(sequence.generated) >= sequence.params.max_tokens:
            return text, "length"
        return hold_back(text, sequence.params.stop), None

    def _drop_finished(self) -> None:
        import torch

        keep = [i for i, s in enumerate(self._active) if s.finish_reason is None]
        if len(keep) == len(self._active):
            return
        if not keep:
            self._active, self._cache, self._mask = [], None, None
            return
        index = torch.tensor(keep)
        self._cache.batch_select_indices(index)
        self._mask = self._mask[index]
        self._active = [self._active[i] for i in keep]
        self._trim_padding()

    def _trim_padding(self) -> None:
        """Drop leading columns no remaining row uses (the departed rows' longer prompts)."""
        used = self._mask.any(dim=0).nonzero()
        start = int(used[0]) if len(used) else 0
        if start:
            self._mask = self._mask[:, start:]
            for layer in self._cache.layers:
                layer.keys, layer.values = layer.keys[:, :, start:], layer.values[:, :, start:]

    def _fail_all(self, reason: str) -> None:
        for sequence in self._active:
            if sequence.finish_reason is None:
                sequence.finish_reason = "error"
                sequence.on_update(Update(reason, "error", len(sequence.generated)))
        self._active, self._cache, self._mask = [], None, None


def choose_tokens(logits, params: list[SamplingParams], generators: list) -> list[int]:
    """Greedy rows take the arg-max; sampled rows use temperature and nucleus (top-p) with their own generator."""
    import torch

    tokens = logits.argmax(-1).tolist()
    for row, (p, generator) in enumerate(zip(params, generators)):
        if p.temperature <= 0:
            continue
        probs = torch.softmax(logits[row] / p.temperature, dim=-1)
        if p.top_p < 1:
            ordered, order = probs.sort(descending=True)
            outside = ordered.cumsum(-1) - ordered >= p.top_p  # keep the smallest set reaching top_p
            probs = torch.zeros_like(probs).scatter(0, order, ordered.masked_fill(outside, 0))
        tokens[row] = int(torch.multinomial(probs, 1, generator=generator))
    return tokens


def first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def hold_back(text: str, stops: tuple[str, ...]) -> str:
    """Text minus what might still turn into a stop string or complete a multi-byte character."""
    text = text.rstrip("\ufffd")
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return text[:len(text) - longest]


def _generator(seed: int | None):
    import torch

    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
