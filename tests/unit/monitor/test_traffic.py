"""The request log as the monitor reads it: windows by model and time; feedback joined to its completion."""
from __future__ import annotations

import time

import pytest
from traffickit import log_feedback, log_request

from honed.core.config import validate_config
from honed.core.errors import HonedError
from honed.core.store import Store
from honed.monitor.loop import feedback_data, is_heldout
from honed.monitor.traffic import logged_feedback, logged_requests, parse_since

ASK = [{"role": "system", "content": "Route the ticket."}, {"role": "user", "content": "my invoice is wrong"}]


def test_a_feedback_row_joins_its_logged_completion(tmp_path):
    with Store(tmp_path / "h.db") as store:
        rid = log_request(store.db, "shop@production", ASK, "shipping", latency_ms=30)
        log_request(store.db, "other@production", ASK, "login")
        log_feedback(store.db, rid, -1, correction="billing", comment="wrong queue")
        joined = logged_feedback(store, model="shop@production")
        assert len(joined) == 1
        item = joined[0]
        assert (item.request_id, item.response, item.correction, item.is_down) == (rid, "shipping", "billing", True)
        assert item.messages == ASK
        requests = logged_requests(store, model="shop@production")
        assert [(r.input, r.output, r.rating, r.latency_ms) for r in requests] == [
            ("my invoice is wrong", "shipping", -1, 30.0)]


def test_the_window_keeps_only_recent_requests(tmp_path):
    with Store(tmp_path / "h.db") as store:
        log_request(store.db, "shop", ASK, "billing", when=time.time() - 10 * 86400)
        log_request(store.db, "shop@production", ASK, "billing")
        assert len(logged_requests(store, model="shop@production", since=time.time() - parse_since("7d"))) == 1
        assert len(logged_requests(store, model="shop@production")) == 2
    with pytest.raises(HonedError, match="not a duration"):
        parse_since("seven days")


def test_no_log_tables_reads_as_no_traffic(tmp_path):
    with Store(tmp_path / "h.db") as store:
        assert logged_requests(store) == [] and logged_feedback(store) == []


def test_feedback_becomes_sft_rows_pairs_and_a_stable_heldout_slice(tmp_path):
    cfg = validate_config({"project": "shop", "objective": {"labels": ["billing", "shipping", "login"]},
                           "monitor": {"retrain_heldout_fraction": 0.3}})
    with Store(tmp_path / "h.db") as store:
        for i in range(20):
            rid = log_request(store.db, "shop@production", ASK[:1] + [{"role": "user", "content": f"invoice {i}"}],
                              "shipping", request_id=f"req-{i}")
            log_feedback(store.db, rid, -1, correction="billing")
        rid = log_request(store.db, "shop@production", ASK, "billing")
        log_feedback(store.db, rid, -1, correction="refund please")  # not a label: skipped with the reason
        found = feedback_data(logged_feedback(store, "shop@production"), set(), cfg)
    assert len(found.sft) + len(found.heldout) == 20
    assert [r["label"] for r in found.sft] == ["billing"] * len(found.sft)
    assert len(found.heldout) == sum(is_heldout(f"req-{i}", 0.3) for i in range(20)) > 0
    assert len(found.preference) == 20 and found.preference[0]["chosen"] == "billing"
    assert any("label_not_in_set" in s["reason"] for s in found.skipped)
    again = feedback_data(logged_feedback(Store(tmp_path / "h.db").db, "shop@production"), set(found.used), cfg)
    assert again.is_empty  # consumed feedback is not used twice
