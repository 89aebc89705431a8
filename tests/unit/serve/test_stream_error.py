"""A generation that fails mid-stream ends the stream with an error event, never with finish_reason "stop"."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from honed.serve import app as serve_app
from honed.serve.backend import ChunkMaker
from honed.serve.engine import Update
from honed.serve.schemas import ChatRequest


async def _updates(*items):
    for item in items:
        yield item


def _collect(agen) -> list:
    async def run():
        return [x async for x in agen]

    return asyncio.run(run())


def _request() -> ChatRequest:
    return ChatRequest(model="tiny-random", messages=[{"role": "user", "content": "hi"}], stream=True)


def test_error_update_becomes_an_error_event_after_the_text_so_far():
    chunks = _collect(ChunkMaker(_request(), "chatcmpl-1").from_updates(
        _updates((0, Update("Hello", None, 1)), (0, Update("CUDA out of memory", "error", 1))), prompt_tokens=5))
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c.get("choices")]
    assert "Hello" in deltas
    assert not any(c["choices"][0]["finish_reason"] for c in chunks if c.get("choices"))
    assert chunks[-1]["error"]["code"] == "generation_failed"
    assert "CUDA out of memory" in chunks[-1]["error"]["message"]


def test_sse_sends_the_error_without_done_and_logs_no_answer():
    left, finished = [], []
    state = SimpleNamespace(gate=SimpleNamespace(leave=lambda: left.append(True)),
                            metrics=SimpleNamespace(first_token=lambda seconds: None))
    record = SimpleNamespace(app=SimpleNamespace(state=state), started=0.0,
                             finish=lambda *a: finished.append(a))
    chunks = ChunkMaker(_request(), "chatcmpl-2").from_updates(
        _updates((0, Update("Hel", None, 1)), (0, Update("boom", "error", 1))), prompt_tokens=3)
    lines = _collect(serve_app._sse(chunks, include_usage=True, record=record))
    assert lines[-1] != "data: [DONE]\n\n"
    assert json.loads(lines[-1][len("data: "):])["error"]["message"] == "generation failed: boom"
    assert finished == [] and left == [True]  # no answer logged; the capacity gate released


def test_a_normal_stream_still_finishes_with_its_reason_and_done():
    left, finished = [], []

    async def finish(texts, usage):
        finished.append((texts, usage))

    state = SimpleNamespace(gate=SimpleNamespace(leave=lambda: left.append(True)),
                            metrics=SimpleNamespace(first_token=lambda seconds: None))
    record = SimpleNamespace(app=SimpleNamespace(state=state), started=0.0, finish=finish)
    chunks = ChunkMaker(_request(), "chatcmpl-3").from_updates(
        _updates((0, Update("Hi", None, 1)), (0, Update("Hi there", "length", 2))), prompt_tokens=3)
    lines = _collect(serve_app._sse(chunks, include_usage=False, record=record))
    assert lines[-1] == "data: [DONE]\n\n"
    assert finished[0][0] == ["Hi there"] and left == [True]
    reasons = [json.loads(x[6:])["choices"][0]["finish_reason"] for x in lines[:-1] if json.loads(x[6:])["choices"]]
    assert reasons[-1] == "length"
