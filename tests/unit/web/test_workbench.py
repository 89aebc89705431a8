"""The workbench over FastAPI's TestClient: access, CSRF, blind review, escaping, balance, exports."""
import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from webkit import csrf_of, login, make_workbench, write_battles

from honed.core.store import Store
from honed.web.battles import import_battles, left_is_a


@pytest.fixture
def bench(tmp_path):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        import_battles(store, write_battles(tmp_path / "battles.jsonl", 4), seed=7)
    return TestClient(app), db


def test_pages_need_a_login(bench):
    client, _ = bench
    answer = client.get("/review", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_an_unauthenticated_vote_is_refused(bench):
    client, db = bench
    token = csrf_of(client.get("/login").text)  # a valid token alone is not a login
    answer = client.post("/review/vote", data={"csrf": token, "battle_id": 1, "vote": "left"})
    assert answer.status_code == 401
    with Store(db) as store:
        assert store.votes() == []


def test_a_vote_without_the_csrf_token_is_refused(bench):
    client, db = bench
    login(client)
    for token in (None, "forged"):
        data = {"battle_id": 1, "vote": "left", **({"csrf": token} if token else {})}
        assert client.post("/review/vote", data=data).status_code == 403
    with Store(db) as store:
        assert store.votes() == []


def test_a_wrong_password_does_not_log_in(bench):
    client, _ = bench
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": "rita", "password": "nope-nope", "csrf": token})
    assert "wrong name or password" in answer.text
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_model_names_stay_hidden_until_the_vote_then_a_complete_row_is_stored(bench):
    client, db = bench
    token = login(client)
    page = client.get("/review").text
    assert "base-model-x" not in page and "tuned-model-y" not in page and "first reply to 0" in page
    answer = client.post("/review/vote", data={"csrf": token, "battle_id": 1, "vote": "right",
                                               "correction": "a better answer", "comment": "terse"})
    assert "base-model-x" in answer.text and "tuned-model-y" in answer.text  # revealed after the vote
    with Store(db) as store:
        row = store.votes()[0]
        battle = store.battle(1)
    assert row["reviewer"] == "rita" and row["prompt"] == "Question 0?" and row["time"] > 0
    assert {row["left_model"], row["right_model"]} == {"base-model-x", "tuned-model-y"}
    assert row["winner"] == row["right_model"] and row["correction"] == "a better answer"
    assert row["left_answer"] == ("first" if row["left_model"] == "base-model-x" else "second") + " reply to 0"
    assert (row["left_model"] == battle["model_a"]) == left_is_a(battle)


def test_a_stored_script_renders_as_text(tmp_path):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        store.add_battle("<script>alert(1)</script>", "m1", "<script>alert(2)</script>", "m2", "<b>x</b>", seed=0)
    client = TestClient(app)
    login(client)
    page = client.get("/review").text
    assert "<script>alert" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_left_right_assignment_is_balanced_over_100_seeded_battles(tmp_path):
    with Store(tmp_path / "b.db") as store:
        import_battles(store, write_battles(tmp_path / "b.jsonl", 100), seed=3)
        battles = store.battles()
        sides = [left_is_a(b) for b in battles]
        again = [left_is_a(b) for b in store.battles()]
    assert sides == again  # seeded: the same battle always shows the same side
    assert abs(sum(sides) / len(sides) - 0.5) < 0.1
    coins = [side for b, side in zip(battles, sides, strict=True) if b["id"] % 2 == 0]
    assert 0.3 < sum(coins) / len(coins) < 0.7  # random per pair, not a fixed alternation


def test_reviewers_cannot_promote(bench):
    client, _ = bench
    token = login(client, "rita")
    answer = client.post("/models/promote", data={"csrf": token, "name": "x", "version": 1, "alias": "production"})
    assert answer.status_code == 403


TOPICS = ["refund for a broken kettle", "password reset loop", "invoice shows the wrong VAT",
          "parcel went to a neighbour", "app crashes when uploading photos", "double charge on my card",
          "cancel the yearly plan", "change the delivery address", "discount code rejected",
          "account locked after travel", "missing pages in the manual", "slow sync between laptop and phone"]


def varied_battles(path):
    rows = [{"prompt": f"Customer writes about a {t}. What should support reply?",
             "answers": {"base-model-x": f"Sorry to hear about the {t}; we will look into it.",
                         "tuned-model-y": f"For the {t}: here are the exact steps, {i + 2} of them, to fix it."}}
            for i, t in enumerate(TOPICS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_exports_pass_data_check(tmp_path):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        import_battles(store, varied_battles(tmp_path / "battles.jsonl"))
    client = TestClient(app)
    token = login(client)
    for battle_id in range(1, 13):
        vote = ("left", "right", "tie", "both_bad")[battle_id % 4]
        correction = f"Corrected reply {battle_id}: {TOPICS[battle_id - 1]} handled properly, step by step."
        client.post("/review/vote", data={"csrf": token, "battle_id": battle_id, "vote": vote,
                                          "correction": correction if battle_id % 4 == 3 else ""})
        client.post("/review/expert", data={"csrf": token, "battle_id": battle_id, "score": 5, "correct": "yes"})
    prefs, sft = tmp_path / "prefs.jsonl", tmp_path / "sft.jsonl"
    prefs.write_text(client.get("/export/preferences.jsonl").text, encoding="utf-8")
    sft.write_text(client.get("/export/sft.jsonl").text, encoding="utf-8")
    assert len(prefs.read_text().splitlines()) == 6 + 3 * 2  # 6 decisive votes; 3 corrections beat both answers
    assert len(sft.read_text().splitlines()) == 3 + 12  # 3 corrections and 12 answers rated 5/5 correct
    for path in (prefs, sft):
        check = subprocess.run([sys.executable, "-m", "honed", "data", "check", str(path)], capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    tasks = json.loads(client.get("/export/label-studio.json").text)
    assert len(tasks) == 12 and sum(len(t["annotations"]) for t in tasks) == 6


def test_label_studio_round_trip(tmp_path, bench):
    from honed.web.exports import import_label_studio

    client, _ = bench
    login(client)
    exported = tmp_path / "ls.json"
    exported.write_text(client.get("/export/label-studio.json").text, encoding="utf-8")
    with Store(tmp_path / "other.db") as store:
        assert import_label_studio(store, exported) == 4
        assert [b["prompt"] for b in store.battles()] == [f"Question {i}?" for i in range(4)]


def test_bad_form_values_are_a_clear_400(bench):
    client, db = bench
    token = login(client)
    assert client.post("/review/vote", data={"csrf": token, "battle_id": "x", "vote": "left"}).status_code == 400
    answer = client.post("/review/vote", data={"csrf": token, "battle_id": 1, "vote": "maybe"})
    assert answer.status_code == 400 and "unknown vote" in answer.text
    assert client.post("/review/expert", data={"csrf": token, "battle_id": 1, "score": 9}).status_code == 400
    with Store(db) as store:
        assert store.votes() == [] and store.expert_ratings() == []


def test_a_run_page_links_its_report_audit_and_dropped_rows(tmp_path):
    app, db = make_workbench(tmp_path)
    out = tmp_path / "out"
    (out / "run").mkdir(parents=True)
    (out / "data").mkdir()
    (out / "data" / "dataset.json").write_text("{}")
    (out / "data" / "audit.html").write_text("<h1>audit</h1>")
    (out / "data" / "dropped.jsonl").write_text('{"code": "empty"}\n')
    (out / "eval").mkdir()
    (out / "eval" / "report.html").write_text("<h1>report</h1>")
    with Store(db) as store:
        store.start_run("r1", "train", "tickets", str(out / "run"), {})
        store.record_report("r1", str(out / "eval" / "report.json"),
                            {"primary_metric": "accuracy", "objective": {"value": 0.9, "passed": True}})
    client = TestClient(app)
    login(client)
    page = client.get("/runs/r1").text
    for name in ("report.html", "audit.html", "dropped.jsonl"):
        assert f"/runs/r1/files/{name}" in page
    report = client.get("/runs/r1/files/report.html")
    assert report.text == "<h1>report</h1>" and "sandbox" in report.headers["content-security-policy"]
    assert client.get("/runs/r1/files/config.yaml").status_code == 404  # only the named files, never a path
    assert client.get("/runs/r1/files/..%2F..%2Fhoned.db").status_code == 404


def test_the_dashboard_shows_a_models_drift_report(tmp_path):
    app, _ = make_workbench(tmp_path)
    (tmp_path / "monitor" / "tickets").mkdir(parents=True)
    (tmp_path / "monitor" / "tickets" / "drift.json").write_text(json.dumps(
        {"drift": True, "recommendation": "retrain", "checks": [{"name": "input_length_psi", "drift": True},
                                                               {"name": "refusal_rate", "drift": False}]}))
    client = TestClient(app)
    login(client)
    page = client.get("/").text
    assert "DRIFT" in page and "input_length_psi" in page and "refusal_rate" not in page
