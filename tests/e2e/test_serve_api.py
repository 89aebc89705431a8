"""`honed serve tiny-random` live on a loopback port, driven by the official `openai` client."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from servekit import API_KEY, live_server

from honed.core.store import Store

CHAT = [{"role": "user", "content": "Where is my parcel? Write to jane.doe@example.com"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("serve") / "honed.db"
    with live_server(["tiny-random"], db, "--api-key-env", "HONED_TEST_KEY", "--max-body-bytes", "200000",
                     env={"HONED_TEST_KEY": API_KEY}) as (url, _process):
        yield url, db


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=f"{server[0]}/v1", api_key=API_KEY, max_retries=0)


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["tiny-random"]


def test_chat_has_role_finish_reason_and_usage(client):
    reply = client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=8, temperature=0)
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 10
    assert 0 < reply.usage.completion_tokens <= 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.id.startswith("chatcmpl-")


def test_stream_joins_to_the_whole_answer(client):
    whole = client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=12, temperature=0)
    chunks = list(client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=12, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert text == whole.choices[0].message.content
    assert reasons == [whole.choices[0].finish_reason]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert len({c.id for c in chunks}) == 1


def test_stream_ends_with_done_and_has_no_usage_unless_asked(server):
    url, _ = server
    body = {"model": "tiny-random", "messages": CHAT, "max_tokens": 4, "temperature": 0, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers=auth()) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    assert not any(json.loads(line[5:]).get("usage") for line in lines[:-1])


def test_completions_endpoint_with_stop_and_n(client):
    reply = client.completions.create(model="tiny-random", prompt="The queue is", max_tokens=6, n=2,
                                      temperature=0.8, seed=3)
    assert [c.index for c in reply.choices] == [0, 1]
    assert reply.object == "text_completion"
    again = client.completions.create(model="tiny-random", prompt="The queue is", max_tokens=6, n=2,
                                      temperature=0.8, seed=3)
    assert [c.text for c in again.choices] == [c.text for c in reply.choices]


def auth(key: str = API_KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("body, status, code", [
    (b'{"model": "tiny-random", "messages": [', 400, "invalid_request"),
    (json.dumps({"model": "tiny-random", "messages": CHAT, "temperature": 7}).encode(), 400, "invalid_request"),
    (json.dumps({"model": "nope", "messages": CHAT}).encode(), 404, "model_not_found"),
    (json.dumps({"model": "tiny-random", "messages": [{"role": "user", "content": "word " * 3000}]}).encode(),
     400, "context_length_exceeded"),
    (json.dumps({"model": "tiny-random", "messages": [{"role": "user", "content": "x" * 300000}]}).encode(),
     413, "request_too_large"),
])
def test_bad_requests_get_openai_errors_and_the_server_stays_healthy(server, client, body, status, code):
    url, _ = server
    response = httpx.post(f"{url}/v1/chat/completions", content=body,
                          headers={**auth(), "content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]
    assert client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=2).choices


def test_unknown_model_raises_not_found_in_the_client(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="tiny-random-2", messages=CHAT, max_tokens=2)


def test_bearer_token_is_required(server):
    url, _ = server
    body = {"model": "tiny-random", "messages": CHAT, "max_tokens": 2}
    assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 401
    wrong = httpx.post(f"{url}/v1/chat/completions", json=body, headers=auth("wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{url}/v1/models").status_code == 401
    assert httpx.get(f"{url}/health").status_code == 200  # probes need no key


def test_32_concurrent_requests_all_succeed_and_share_the_batch(server, client):
    url, _ = server
    steps_before = httpx.get(f"{url}/health").json()["steps"]

    def ask(i):
        return client.chat.completions.create(model="tiny-random", max_tokens=16, temperature=0,
                                              messages=[{"role": "user", "content": f"ticket number {i}"}])

    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(ask, range(32)))
    assert all(r.choices[0].finish_reason in ("stop", "length") for r in replies)
    tokens = sum(r.usage.completion_tokens for r in replies)
    steps = httpx.get(f"{url}/health").json()["steps"] - steps_before
    assert steps < tokens / 2  # forward passes were shared across requests


def test_feedback_joins_its_logged_request_and_pii_is_redacted(server, client):
    url, db = server
    reply = client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=4)
    response = httpx.post(f"{url}/v1/feedback", headers=auth(),
                          json={"id": reply.id, "rating": -1, "correction": "Mail me at bob@example.org",
                                "comment": "wrong queue"})
    assert response.status_code == 200
    with Store(db) as store:
        row = store.request(reply.id)
        joined = store.feedback(reply.id)
    assert row["model"] == "tiny-random" and row["completion_tokens"] == reply.usage.completion_tokens
    assert "<EMAIL>" in row["request"] and "jane.doe@example.com" not in row["request"]
    assert json.loads(row["sampling"])["max_tokens"] == 4
    assert [(f["rating"], f["correction"], f["comment"]) for f in joined] == [(-1, "Mail me at <EMAIL>", "wrong queue")]
    assert joined[0]["response"] == reply.choices[0].message.content
    unknown = httpx.post(f"{url}/v1/feedback", headers=auth(), json={"id": "chatcmpl-nope", "rating": 1})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "request_not_found"


def test_metrics_are_prometheus_text(server, client):
    url, _ = server
    client.chat.completions.create(model="tiny-random", messages=CHAT, max_tokens=2)
    text = httpx.get(f"{url}/metrics").text
    assert 'honed_requests_total{endpoint="/v1/chat/completions",model="tiny-random",status="200"}' in text
    assert "honed_request_latency_seconds_bucket" in text and "honed_active_sequences" in text
