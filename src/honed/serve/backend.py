"""The local engine behind the API: a request becomes `n` sequences in the batcher; their updates become
OpenAI response objects (whole, or as stream chunks).

Both backends (this one and the vLLM proxy) answer with plain dicts in OpenAI's shape, so the front (app.py)
logs, meters and streams them the same way.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from honed.core.chat import render_prompt
from honed.serve.engine import BASE_ADAPTER, Batcher, Overloaded, SamplingParams, Sequence, Update
from honed.serve.pool import ModelPool, Spec, unknown_model_message
from honed.serve.schemas import ChatRequest, Sampling

DEFAULT_MAX_TOKENS = 256


class ApiError(Exception):
    """An error answered in OpenAI's shape: {"error": {"message", "type", "code"}}."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}


@dataclass
class Served:
    """What the request log records about the model that answered (and the adapter key that answers)."""

    model: str
    adapter: str | None
    version: str | None
    key: str | None = None


def stop_token_ids(tokenizer, model) -> list[int]:
    """EOS ids of the model and tokenizer, plus the chat template's end-of-turn token (as training taught it)."""
    ids = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        ids.update(value if isinstance(value, list) else [value])
    if getattr(tokenizer, "chat_template", None):
        probe = tokenizer.apply_chat_template([{"role": "user", "content": "x"}, {"role": "assistant", "content": "§"}],
                                              tokenize=False)
        end = probe[probe.rindex("§") + 1:].strip()
        end_ids = tokenizer(end, add_special_tokens=False)["input_ids"] if end else []
        if len(end_ids) == 1:
            ids.add(end_ids[0])
    return sorted(i for i in ids if i is not None)


class LocalBackend:
    def __init__(self, pool: ModelPool, *, max_batch: int = 32, max_waiting: int = 256):
        self.pool = pool
        self.batcher = Batcher(pool.model, pool.tokenizer, stop_token_ids(pool.tokenizer, pool.model),
                               max_batch=max_batch, max_waiting=max_waiting, uses_adapters=pool.uses_adapters)

    def start(self) -> None:
        self.batcher.start()

    async def close(self) -> None:
        await asyncio.to_thread(self.batcher.stop)

    def model_names(self) -> list[str]:
        return list(self.pool.served)

    def served(self, name: str) -> Served:
        """The model answering `name` now; a request keeps it to the end, even if `name` moves meanwhile."""
        entry = self.pool.lookup(name)
        if entry is None:
            raise ApiError(404, unknown_model_message(name, self.model_names()), "not_found_error", "model_not_found")
        return Served(entry.name, entry.source, entry.version, entry.adapter_key)

    def stats(self) -> dict:
        return {"active": self.batcher.active, "waiting": self.batcher.waiting, "steps": self.batcher.steps}

    # --- following a moving reference (honed.serve.follow) ----------------------------------------------------
    def followed(self) -> dict[str, str]:
        """Served name → the reference it follows (e.g. `tiny@production`), for models that may move."""
        return {name: entry.follows for name, entry in self.pool.served.items() if entry.follows}

    async def swap(self, name: str, spec: Spec) -> None:
        """Answer `name` with `spec`'s adapter from now on. The adapter loads between two batch steps; requests
        already answering keep the old one, which is unloaded once no sequence uses it."""
        problem = self.pool.cannot_swap_in(spec)
        if problem:
            raise ValueError(f"cannot serve {spec.version or spec.adapter} as `{name}`: {problem}")
        entry = await asyncio.wrap_future(self.batcher.call_between_steps(lambda: self._load(spec)))
        old = self.pool.served[name]
        self.pool.served[name] = entry  # one assignment on the event loop: each request sees old or new
        still_used = {e.adapter_key for e in self.pool.served.values()}
        if old.adapter_key != BASE_ADAPTER and old.adapter_key not in still_used:
            self.batcher.retire_adapter(old.adapter_key, self.pool.detach)

    def _load(self, spec: Spec):
        """On the batcher's worker: attach the adapter (the first one wraps the base in a PeftModel)."""
        entry = self.pool.attach(spec)
        self.batcher.model, self.batcher.uses_adapters = self.pool.model, True
        return entry

    # --- requests -------------------------------------------------------------------------------------------
    def _prompt_ids(self, request: Sampling) -> list[int]:
        tokenizer = self.pool.tokenizer
        if isinstance(request, ChatRequest):
            text = render_prompt(tokenizer, request.conversation())
        else:
            text = request.prompt
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        limit = self.pool.context_length
        if len(ids) >= limit:
            raise ApiError(400, f"the prompt is {len(ids)} tokens; this model's context holds {limit} "
                           "(prompt + at least one generated token)", code="context_length_exceeded")
        if not ids:
            raise ApiError(400, "the prompt is empty", code="empty_prompt")
        return ids

    def _params(self, request: Sampling, prompt_len: int, choice: int) -> SamplingParams:
        room = self.pool.context_length - prompt_len
        wanted = request.token_limit() or DEFAULT_MAX_TOKENS
        seed = None if request.seed is None else request.seed + choice
        return SamplingParams(min(wanted, room), request.temperature, request.top_p, request.stops(), seed)

    async def _updates(self, request: Sampling, served: Served | None) -> tuple[int, AsyncIterator[tuple[int, Update]]]:
        """Submit the request's n sequences; yield (choice index, update) as the worker produces them.

        Nothing between choosing the adapter (`served`, by the caller in the same event-loop step) and submitting
        yields to the loop: a swap (also on the loop) cannot retire that adapter in between, so the worker sees
        these sequences before it may unload it."""
        served = served or self.served(request.model)
        ids = self._prompt_ids(request)
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[tuple[int, Update]] = asyncio.Queue()
        sequences = [Sequence(ids, self._params(request, len(ids), i),
                              lambda u, i=i: loop.call_soon_threadsafe(updates.put_nowait, (i, u)),
                              adapter=served.key) for i in range(request.n)]
        try:
            self.batcher.submit(sequences)
        except Overloaded as exc:
            raise ApiError(429, f"server at capacity ({exc}); retry shortly", "rate_limit_error",
                           "over_capacity") from None
        return len(ids), _drain(updates, sequences)

    async def complete(self, request: Sampling, request_id: str, served: Served | None = None) -> dict:
        prompt_tokens, updates = await self._updates(request, served)
        final: dict[int, Update] = {}
        async for index, update in updates:
            if update.finish_reason is not None:
                final[index] = update
        failed = [u.text for u in final.values() if u.finish_reason == "error"]
        if failed:
            raise ApiError(500, f"generation failed: {failed[0]}", "server_error", "generation_failed")
        return whole_response(request, request_id, [final[i] for i in range(request.n)], prompt_tokens)

    async def stream(self, request: Sampling, request_id: str, served: Served | None = None) -> AsyncIterator[dict]:
        """Chunks: a role chunk (chat), text deltas, one finish chunk per choice, and always a usage chunk last
        (the front drops it unless the client asked for usage)."""
        prompt_tokens, updates = await self._updates(request, served)
        chunks = ChunkMaker(request, request_id)
        return chunks.from_updates(updates, prompt_tokens)


async def _drain(updates: asyncio.Queue, sequences: list[Sequence]) -> AsyncIterator[tuple[int, Update]]:
    remaining = len(sequences)
    try:
        while remaining:
            for index, update in _latest_per_choice([await updates.get()], updates):
                if update.finish_reason is not None:
                    remaining -= 1
                yield index, update
    finally:  # a client that went away frees its batch rows at the next step
        for sequence in sequences:
            sequence.cancelled = True


def _latest_per_choice(first: list, updates: asyncio.Queue) -> list[tuple[int, Update]]:
    """Everything already queued, reduced to the newest update of each choice: an update carries the whole text
    so far, so a busy server sends fewer, larger stream chunks instead of falling behind token by token."""
    latest: dict[int, Update] = dict(first)
    while not updates.empty():
        index, update = updates.get_nowait()
        latest[index] = update
    return list(latest.items())


def whole_response(request: Sampling, request_id: str, finals: list[Update], prompt_tokens: int) -> dict:
    chat = isinstance(request, ChatRequest)
    choices = []
    for index, update in enumerate(finals):
        reason = update.finish_reason if update.finish_reason in ("stop", "length") else "stop"
        body = {"message": {"role": "assistant", "content": update.text}} if chat else {"text": update.text}
        choices.append({"index": index, **body, "finish_reason": reason, "logprobs": None})
    completion = sum(u.completion_tokens for u in finals)
    return {"id": request_id, "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
            "model": request.model, "choices": choices, "usage": usage(prompt_tokens, completion)}


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def stream_error(message: str) -> dict:
    """The event that ends a stream which failed after it started (the status line was already sent): OpenAI's
    clients raise an APIError on a `data:` object with an `error` key instead of treating the text as complete."""
    return {"error": {"message": message, "type": "server_error", "param": None, "code": "generation_failed"}}


class ChunkMaker:
    def __init__(self, request: Sampling, request_id: str):
        self.request, self.id, self.created = request, request_id, int(time.time())
        self.chat = isinstance(request, ChatRequest)

    def chunk(self, choices: list[dict], **extra) -> dict:
        kind = "chat.completion.chunk" if self.chat else "text_completion"
        return {"id": self.id, "object": kind, "created": self.created, "model": self.request.model,
                "choices": choices, **extra}

    def choice(self, index: int, text: str | None, reason: str | None, role: bool = False) -> dict:
        if self.chat:
            delta = ({"role": "assistant", "content": ""} if role else {}) | ({"content": text} if text else {})
            return {"index": index, "delta": delta, "finish_reason": reason, "logprobs": None}
        return {"index": index, "text": text or "", "finish_reason": reason, "logprobs": None}

    async def from_updates(self, updates, prompt_tokens: int) -> AsyncIterator[dict]:
        sent = [""] * self.request.n
        completion = 0
        if self.chat:
            for index in range(self.request.n):
                yield self.chunk([self.choice(index, None, None, role=True)])
        async for index, update in updates:
            if update.finish_reason == "error":  # the text is the error: say so, as OpenAI's streams do
                yield stream_error(f"generation failed: {update.text}")
                return
            delta = update.text[len(sent[index]):] if update.text.startswith(sent[index]) else ""
            reason = update.finish_reason
            if reason is not None:
                reason = reason if reason in ("stop", "length") else "stop"
                completion += update.completion_tokens
            if delta or reason:
                sent[index] += delta
                yield self.chunk([self.choice(index, delta, reason)])
        yield self.chunk([], usage=usage(prompt_tokens, completion))
