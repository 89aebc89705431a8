"""Nothing answered is lost when the server dies: SIGKILL after some requests, then read their rows."""
from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
from servekit import live_server

from honed.core.store import Store


def test_rows_of_answered_requests_survive_sigkill(tmp_path):
    db = tmp_path / "honed.db"
    with live_server(["tiny-random"], db) as (url, process):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        answered = [client.chat.completions.create(model="tiny-random", max_tokens=4,
                                                   messages=[{"role": "user", "content": f"hello {i}"}]).id
                    for i in range(5)]
        with ThreadPoolExecutor(4) as pool:  # requests still in flight when the process dies
            pending = [pool.submit(httpx.post, f"{url}/v1/chat/completions", timeout=30,
                                   json={"model": "tiny-random", "max_tokens": 2000, "messages": [
                                       {"role": "user", "content": "a long one"}]}) for _ in range(3)]
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            for future in pending:
                future.exception()  # each either finished before the kill or failed with it
    with Store(db) as store:
        assert all(store.request(request_id) is not None for request_id in answered)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigterm_lets_in_flight_requests_finish(tmp_path):
    db = tmp_path / "honed.db"
    with live_server(["tiny-random"], db) as (url, process):
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(httpx.post, f"{url}/v1/chat/completions", timeout=120, json={
                "model": "tiny-random", "max_tokens": 48, "messages": [{"role": "user", "content": "slowly"}]})
            while httpx.get(f"{url}/health").json()["active"] == 0 and not future.done():
                pass
            process.send_signal(signal.SIGTERM)
            response = future.result()
        # uvicorn re-raises the signal once it has shut down gracefully, so the exit status is "killed by SIGTERM"
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert response.status_code == 200
    reply = response.json()
    assert reply["choices"][0]["finish_reason"] in ("stop", "length") and reply["usage"]["completion_tokens"] > 0
    with Store(db) as store:
        assert store.request(reply["id"]) is not None
