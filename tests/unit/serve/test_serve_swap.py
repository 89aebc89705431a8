"""Serving a moving reference without HTTP: a swap loads the new adapter between batch steps, new requests get
it, requests in flight finish on the old one (then it is unloaded); the Follower swaps when the resolver's answer
moves and keeps answering with what it has when the new version cannot swap in."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from servekit import make_adapter_run

from honed.serve.backend import LocalBackend
from honed.serve.follow import Follower
from honed.serve.pool import load_pool, parse_spec
from honed.serve.schemas import ChatRequest

ASK = [{"role": "user", "content": "Route this ticket: my invoice is wrong"}]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("follow")
    return [make_adapter_run(root / f"v{seed}", seed) for seed in (1, 2)]


@pytest.fixture
def backend(runs, one_thread):
    backend = LocalBackend(load_pool([f"m@production={runs[0]}"]))
    backend.start()
    yield backend
    asyncio.run(backend.close())


def request(max_tokens: int = 24) -> ChatRequest:
    return ChatRequest(model="m@production", messages=ASK, max_tokens=max_tokens, temperature=0)


async def answer(backend, served=None) -> tuple[str, str]:
    """(text, version that answered), the way the HTTP front pins the model before it asks."""
    served = served or backend.served("m@production")
    result = await backend.complete(request(), "id", served)
    return result["choices"][0]["message"]["content"], served.version


def text_of(chunk: dict) -> str:
    return "".join((c.get("delta") or {}).get("content") or "" for c in chunk["choices"])


async def first_text(chunks) -> str:
    """Read a stream until its first text: the request is decoding."""
    async for chunk in chunks:
        if text_of(chunk):
            return text_of(chunk)
    return ""


async def rest_text(chunks) -> str:
    return "".join([text_of(chunk) async for chunk in chunks])


def test_a_swap_answers_new_requests_with_the_new_adapter_and_lets_in_flight_ones_finish(backend, runs):
    spec = replace(parse_spec(f"m@production={runs[1]}"), version="m:2")

    async def scenario():
        alone_old, _ = await answer(backend)
        early = []
        for _ in range(3):  # in flight: each has produced its first text before the swap starts
            served = backend.served("m@production")
            chunks = await backend.stream(request(), "early", served)
            early.append((served, await first_text(chunks), chunks))
        old_key = early[0][0].key
        decoding = backend.batcher.active
        await backend.swap("m@production", spec)
        after_swap = backend.served("m@production")
        late = await asyncio.gather(*(answer(backend) for _ in range(3)))
        finished_early = [first + await rest_text(chunks) for _, first, chunks in early]
        alone_new, _ = await answer(backend)
        return alone_old, alone_new, early, finished_early, late, old_key, after_swap, decoding

    alone_old, alone_new, early, finished_early, late, old_key, after_swap, decoding = asyncio.run(scenario())
    assert decoding >= 1  # the swap happened with old-version sequences in the batch
    assert alone_old != alone_new  # the two versions really answer differently
    assert [served.version for served, _, _ in early] == ["train-test-1"] * 3
    assert finished_early == [alone_old] * 3  # finished on the old adapter, complete
    assert late == [(alone_new, "m:2")] * 3 and after_swap.version == "m:2" and after_swap.key != old_key
    for _ in range(40):  # the worker unloads the old adapter once nothing uses it (checked between steps)
        if old_key not in backend.pool.model.peft_config:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert old_key not in backend.pool.model.peft_config and after_swap.key in backend.pool.model.peft_config


def follow_as_version_1(backend) -> None:
    """Serve `m@production` as if a resolver had said: version m:1, following m@production."""
    served = backend.pool.served
    served["m@production"] = replace(served["m@production"], version="m:1", follows="m@production")


def test_the_follower_swaps_when_the_reference_moves(backend, runs):
    where = {"now": (runs[0], "m:1", True)}
    follow_as_version_1(backend)
    follower = Follower(backend, lambda ref: where["now"] if ref == "m@production" else None, interval_s=0.05)
    assert follower.status["m@production"]["follows"] == "m@production"
    key_before = backend.served("m@production").key

    async def scenario():
        await follower.check_all()  # the reference has not moved: nothing changes
        unchanged = backend.served("m@production")
        where["now"] = (runs[1], "m:2", True)
        task = asyncio.create_task(follower.run())
        for _ in range(100):
            if backend.served("m@production").version == "m:2":
                break
            await asyncio.sleep(0.05)
        task.cancel()
        return unchanged, await answer(backend)

    unchanged, (_, version) = asyncio.run(scenario())
    assert (unchanged.version, unchanged.key) == ("m:1", key_before)
    assert version == "m:2" and backend.served("m@production").key != key_before
    assert follower.status["m@production"]["version"] == "m:2" and follower.status["m@production"]["error"] is None


def test_a_version_that_cannot_swap_in_is_refused_and_the_old_one_keeps_answering(backend, runs, tmp_path):
    other_base = tmp_path / "other"
    make_adapter_run(other_base, 3)
    (other_base / "config.yaml").write_text("model:\n  base: tiny-random\ntrain:\n  seed: 9\n")  # another base
    follow_as_version_1(backend)
    answers = iter([(other_base, "m:3", True), FileNotFoundError("the store is gone")])

    def resolve(_ref):
        found = next(answers)
        if isinstance(found, Exception):
            raise found
        return found

    follower = Follower(backend, resolve, interval_s=1)

    async def scenario():
        refused = await follower.check("m@production", "m@production")
        error = follower.status["m@production"]["error"]
        failed = await follower.check("m@production", "m@production")
        return refused, error, failed, await answer(backend)

    refused, error, failed, (_, version) = asyncio.run(scenario())
    assert refused is False and "seed 9" in error and "tiny-random" in error
    assert failed is False and "the store is gone" in follower.status["m@production"]["error"]
    assert version == "m:1"


def test_a_reference_is_served_under_the_name_asked_for_as_the_version_it_resolves_to(runs):
    def resolve(target):
        return (runs[0], "m:1", True) if target == "m@production" else None

    spec = parse_spec("m@production", resolve)
    assert (spec.name, spec.version, spec.follows, spec.adapter) == ("m@production", "m:1", "m@production",
                                                                     (runs[0] / "adapter").resolve())
    named = parse_spec("support=m@production", resolve)
    assert (named.name, named.follows) == ("support", "m@production")
    assert parse_spec(str(runs[1]), resolve).follows is None  # a path is not the resolver's: served as before
    pinned = parse_spec("m:1", lambda target: (runs[0], "m:1", False))
    assert (pinned.name, pinned.version, pinned.follows) == ("m:1", "m:1", None)
    assert Path(pinned.adapter).is_dir()


def test_a_negative_follow_interval_is_a_usage_error():
    from honed.core.errors import HonedError
    from honed.serve.server import ServeOptions, build_app

    with pytest.raises(HonedError, match="--follow-interval"):
        build_app(ServeOptions(models=["tiny-random"], follow_interval=-1))
