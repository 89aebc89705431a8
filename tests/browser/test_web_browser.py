"""The workbench in headless Chromium: log in, vote blind, watch a loss curve grow, promote, explore, chat."""
from __future__ import annotations

import json
import time
import uuid

from browserkit import log_in, screenshot, serving
from webkit import PASSWORD, fake_version, make_workbench, write_battles

from honed.core.prepared import PreparedData
from honed.core.store import Store
from honed.web.battles import import_battles

BASE = {"accuracy": 0.90, "f1_macro": 0.88}


def test_log_in_vote_blind_rate_as_expert_and_find_the_rows_in_the_store(tmp_path, page):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        import_battles(store, write_battles(tmp_path / "battles.jsonl", 3), seed=1)
    with serving(app) as url:
        log_in(page, url, "rita", PASSWORD, then="/review")
        html = page.content()
        assert "base-model-x" not in html and "tuned-model-y" not in html  # hidden before the vote
        assert page.inner_text("#answer-left").endswith("reply to 0")
        screenshot(page, "review")
        page.fill("textarea[name=correction]", "A reviewer's better reply")
        page.click("#vote-left")
        page.wait_for_selector("#revealed")
        revealed = page.inner_text("#revealed")
        assert "base-model-x" in revealed and "tuned-model-y" in revealed
        screenshot(page, "reveal")
        page.goto(f"{url}/review/expert")  # expert mode: one answer, blind, scored 1-5
        assert "base-model-x" not in page.content() and "reply to 0" in page.inner_text("main")
        page.check("input[name=score][value='4']")
        page.check("input[name=correct][value='yes']")
        screenshot(page, "expert")
        page.click("text=Save rating")
        page.wait_for_selector("text=reply to 1")
    with Store(db) as store:
        votes, rated = store.votes(), store.expert_ratings()
    assert len(votes) == 1 and votes[0]["reviewer"] == "rita" and votes[0]["vote"] == "left"
    assert votes[0]["winner"] == votes[0]["left_model"] and votes[0]["correction"] == "A reviewer's better reply"
    assert [(r["battle_id"], r["score"], r["correct"], r["reviewer"]) for r in rated] == [(1, 4, 1, "rita")]


def test_results_page_shows_ratings_for_three_models(tmp_path, page):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        for pair in (("small", "medium"), ("medium", "large"), ("small", "large")):
            import_battles(store, write_battles(tmp_path / f"{pair[0]}-{pair[1]}.jsonl", 6, models=pair))
        stronger = {"small": 0, "medium": 1, "large": 2}
        for b in store.battles():
            from honed.web.battles import vote_row

            left = vote_row(b, "rita", "left")["left_model"]
            other = b["model_b"] if left == b["model_a"] else b["model_a"]
            choice = "left" if stronger[left] > stronger[other] or b["id"] % 5 == 0 else "right"
            store.add_vote(vote_row(b, "rita", choice))
    with serving(app) as url:
        log_in(page, url, "rita", PASSWORD, then="/results")
        rows = page.locator("#ratings tr").all_inner_texts()[1:]
        assert [r.split("\t")[0] for r in rows] == ["large", "medium", "small"]
        screenshot(page, "results")


def test_dashboard_loss_curve_updates_while_a_run_trains(tmp_path, page):
    app, db = make_workbench(tmp_path)
    run_id = f"train-{uuid.uuid4().hex[:6]}"
    with Store(db) as store:
        store.start_run(run_id, "train", "tickets", str(tmp_path / run_id), {})
        for step in range(1, 6):
            store.log_metrics(run_id, step, {"loss": 2.0 / step})
    with serving(app) as url:
        log_in(page, url, "rita", PASSWORD)
        assert run_id in page.inner_text("#runs")
        screenshot(page, "dashboard")
        page.click(f"text={run_id}")
        page.wait_for_selector("#curve svg polyline")
        assert page.get_attribute("#curve .curve", "data-points") == "5"
        points_before = page.get_attribute("#curve polyline", "points")
        with Store(db) as store:
            store.log_metrics(run_id, 6, {"loss": 0.2})
        page.wait_for_function("document.querySelector('#curve .curve').dataset.points === '6'")
        assert page.get_attribute("#curve polyline", "points") != points_before
        screenshot(page, "run")


def test_promote_from_the_page_moves_the_alias(tmp_path, page):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        fake_version(store, tmp_path, "tickets", BASE)
        fake_version(store, tmp_path, "tickets", {**BASE, "accuracy": 0.95})
        store.move_alias("tickets", "production", 1, who="test")
    with serving(app) as url:
        log_in(page, url, "ada", PASSWORD)
        page.click("#promote-tickets-2")
        page.wait_for_selector("#flash")
        assert "version 1 → 2" in page.inner_text("#flash")
        screenshot(page, "registry")
    with Store(db) as store:
        assert store.aliases("tickets") == {"production": 2}
        assert "ada" in store.alias_history("tickets")[-1]["reason"]


def test_data_explorer_pages_searches_and_shows_counts_not_pii(tmp_path, page):
    app, db = make_workbench(tmp_path)
    rows = [{"kind": "conversation", "messages": [{"role": "user", "content": f"ticket {i} about {topic}"},
                                                  {"role": "assistant", "content": topic}], "label": topic}
            for i, topic in enumerate(["billing", "shipping", "login"] * 15)]
    dropped = [{"code": "empty_answer", "detail": "the answer is empty", "step": "validate", "row": {"x": 1}}]
    data = PreparedData.save(tmp_path / "data", {"train": rows[:40], "validation": rows[40:], "test": []}, dropped,
                             {}, ["billing", "shipping", "login"])
    (tmp_path / "data" / "audit.json").write_text(json.dumps({"pii": {"EMAIL": 3}}))
    with Store(db) as store:
        store.record_dataset(data.dataset_hash, "tickets", str(tmp_path / "data"), 45)
    with serving(app) as url:
        log_in(page, url, "rita", PASSWORD, then="/data")
        page.click("text=tickets")
        body = page.inner_text("main")
        assert "page 1 of 2" in body and "EMAIL: 3" in body and "empty_answer: 1" in body
        assert "billing 14" in body  # per-label counts of the train split
        screenshot(page, "data")
        page.fill("input[name=q]", "ticket 7 ")
        page.click("text=Search")
        assert "1 rows" in page.inner_text("main")
        page.goto(page.url.split("?")[0] + "?split=dropped")
        assert "empty_answer: the answer is empty" in page.inner_text("main")


def test_playground_streams_a_reply_from_honed_serve(tmp_path, page):
    """`honed serve` mounts the workbench at `/`; /v1 still wants the bearer token, which the page never sees."""
    import httpx
    from servekit import API_KEY, live_server

    _, db = make_workbench(tmp_path)  # accounts in the store `honed serve` uses
    with live_server(["tiny-random"], db, "--api-key-env", "HONED_TEST_KEY", env={"HONED_TEST_KEY": API_KEY}) \
            as (url, _process):
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/v1/models", headers={"authorization": f"Bearer {API_KEY}"}).status_code == 200
        log_in(page, url, "rita", PASSWORD, then="/playground")
        options = page.locator("#model-left option").all_inner_texts()
        assert "tiny-random" in options
        page.fill("#prompt", "Say hello")
        page.fill("input[name=max_tokens]", "24")
        started = time.monotonic()
        page.click("#send")
        page.wait_for_selector("#reply-left[data-done='1']", timeout=90_000)
        page.wait_for_selector("#reply-right[data-done='1']", timeout=90_000)
        assert page.inner_text("#reply-left").strip() and not page.inner_text("#reply-left").startswith("[error")
        assert time.monotonic() - started < 90
        assert API_KEY not in page.content()
        screenshot(page, "playground")
