"""Request log: redaction on by default, off on request; sampling; feedback only for logged ids."""
from __future__ import annotations

import asyncio

from honed.core.store import Store
from honed.serve.log import RequestLog


def record(log: RequestLog, request_id: str, text: str) -> bool:
    return asyncio.run(log.record(request_id, endpoint="/v1/chat/completions", model="m", adapter=None,
                                  version=None, latency_s=0.1, prompt_tokens=3, completion_tokens=2,
                                  sampling={"temperature": 0},
                                  request={"model": "m", "messages": [{"role": "user", "content": text}]},
                                  response=f"reply to {text}"))


def test_redacts_by_default_and_not_when_disabled(tmp_path):
    db = tmp_path / "h.db"
    redacting, plain = RequestLog(db), RequestLog(db, redact=False)
    assert record(redacting, "r1", "call +44 20 7946 0958 or mail x@y.org")
    assert record(plain, "r2", "mail x@y.org")
    redacting.close(), plain.close()
    with Store(db) as store:
        first, second = store.request("r1"), store.request("r2")
    assert "x@y.org" not in first["request"] and "<EMAIL>" in first["request"] and "<EMAIL>" in first["response"]
    assert "x@y.org" in second["request"] and second["response"] == "reply to mail x@y.org"


def test_sample_rate_zero_logs_nothing_and_feedback_needs_a_logged_id(tmp_path):
    db = tmp_path / "h.db"
    log = RequestLog(db, sample_rate=0.0)
    assert not record(log, "r1", "hello")
    assert not asyncio.run(log.feedback("r1", 1, None, None))
    log.close()
    half = RequestLog(db, sample_rate=0.5, seed=0)
    flags = [record(half, f"s{i}", "hi") for i in range(200)]
    logged = f"s{flags.index(True)}"
    assert asyncio.run(half.feedback(logged, 1, "better", None))
    half.close()
    assert 70 < sum(flags) < 130
    with Store(db) as store:
        assert store.request("r1") is None
        assert store.db.execute("SELECT count(*) FROM requests").fetchone()[0] == sum(flags)
        assert [f["correction"] for f in store.feedback(logged)] == ["better"]
