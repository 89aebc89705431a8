"""The OpenAI-compatible baseline and the LLM judge, answered by a mock transport (no network)."""
from __future__ import annotations

import json

import httpx
import pytest

from honed.core.config import validate_config
from honed.core.errors import HonedError
from honed.evaluate import judge
from honed.evaluate.api import evaluate_api_candidate
from honed.evaluate.candidates import score_candidate


def chat_transport(answer):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        text = answer(body["messages"][-1]["content"])
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": text}}],
                                         "usage": {"prompt_tokens": 11, "completion_tokens": 2}})

    return httpx.MockTransport(handler), seen


def test_api_candidate_scores_the_same_prompts():
    cfg = validate_config({"objective": {"labels": ["billing", "login"]},
                           "evaluation": {"api_baseline_url": "http://api.test/v1", "api_baseline_model": "big"}})
    prompts = [[{"role": "system", "content": "route"}, {"role": "user", "content": t}] for t in ("invoice", "password")]
    transport, seen = chat_transport(lambda text: "Billing." if "invoice" in text else "It is login")
    result = evaluate_api_candidate(cfg, prompts, ["billing", "login"], ["billing", "login"], transport=transport)
    assert result.name == "api_model" and result.metrics["accuracy"] == 1.0
    assert seen[0]["model"] == "big" and seen[0]["temperature"] == 0.0 and seen[0]["messages"] == prompts[0]
    assert result.prompt_tokens == [11, 11] and len(result.efficiency["latency_ms"]) == 2


def test_api_errors_are_for_humans():
    cfg = validate_config({"evaluation": {"api_baseline_url": "http://api.test/v1"}})
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    from honed.evaluate.api import ChatClient

    client = ChatClient("http://api.test/v1", "m", transport=transport, retries=0)
    with pytest.raises(HonedError, match="did not answer usably"):
        client.complete([{"role": "user", "content": "x"}], 4)
    assert cfg.evaluation.api_baseline_url


def test_judge_rubric_and_pairwise_with_position_swap():
    cfg = validate_config({"objective": {"task": "generation", "metric": "token_f1", "target": 0.5},
                           "evaluation": {"judge_url": "http://judge.test/v1", "judge_max_examples": 2}})
    refs = ["the parcel is late", "reset the password"]
    tuned = score_candidate("fine_tuned", cfg, refs, [], list(refs), {"greedy": list(refs)})
    base = score_candidate("zero_shot", cfg, refs, [], ["no", "no"], {"greedy": ["no", "no"]})

    def grade(prompt: str) -> str:
        if "Which answer is better" in prompt:  # prefers whichever slot holds the reference-like answer
            a = prompt.split("Answer A:\n")[1].split("\n\nAnswer B:")[0]
            return "A" if a in refs else "B"
        return "5" if prompt.split("Assistant's answer:\n")[1].startswith(tuple(refs)) else "Score: 1"

    transport, seen = chat_transport(grade)
    out = judge.run_judge(cfg, ["q1", "q2"], refs, {"zero_shot": base, "fine_tuned": tuned}, transport=transport)
    assert out["scores"]["fine_tuned"]["mean_score"] == 5 and out["scores"]["zero_shot"]["mean_score"] == 1
    assert out["pairwise"]["fine_tuned_win_rate"] == 1.0 and out["pairwise"]["against"] == "zero_shot"
    assert len(seen) == 2 * 2 + 2 * 2  # rubric: 2 candidates × 2 rows; pairwise: 2 rows × both orders
    assert judge.parse_score("I'd say 4/5") == 4 and judge.parse_preference("Tie.") == "tie"


def test_api_client_retries_and_honours_retry_after():
    """A 429 with Retry-After is retried by the openai client after the stated wait, then answered."""
    import time

    from honed.evaluate.api import ChatClient

    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after": "1"}, json={"error": {"message": "slow down"}})
        return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": "ok"}}],
                                         "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})

    client = ChatClient("http://api.test/v1", "m", transport=httpx.MockTransport(handler), retries=2)
    text, usage = client.complete([{"role": "user", "content": "x"}], 4)
    assert (text, usage["prompt_tokens"], len(calls)) == ("ok", 3, 2)
    assert calls[1] - calls[0] >= 0.9
