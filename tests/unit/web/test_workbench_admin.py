"""The workbench's remaining promises, over TestClient: CSRF on every form, expert mode, the registry's gate and
rollback from the page, assets served by honed itself (no CDN)."""
import re

import pytest
from fastapi.testclient import TestClient
from webkit import fake_version, login, make_workbench, write_battles

from honed.core.store import Store
from honed.web.battles import import_battles, sides

BASE = {"accuracy": 0.90, "f1_macro": 0.88}


@pytest.fixture
def bench(tmp_path):
    app, db = make_workbench(tmp_path)
    with Store(db) as store:
        import_battles(store, write_battles(tmp_path / "battles.jsonl", 2), seed=5)
        fake_version(store, tmp_path, "tickets", BASE)
        fake_version(store, tmp_path, "tickets", {**BASE, "accuracy": 0.95})
        fake_version(store, tmp_path, "tickets", {**BASE, "accuracy": 0.60})  # worse: the gate must refuse it
        store.move_alias("tickets", "production", 1, who="test")
    return TestClient(app), db


FORMS = {"/review/vote": {"battle_id": 1, "vote": "left"}, "/review/expert": {"battle_id": 1, "score": 5},
         "/models/promote": {"name": "tickets", "version": 2, "alias": "production"},
         "/models/rollback": {"name": "tickets", "alias": "production"},
         "/playground/chat": {"model": "m", "prompt": "hi"}}


def test_every_form_refuses_a_post_without_its_csrf_token(bench):
    client, db = bench
    assert client.post("/login", data={"name": "ada", "password": "x"}).status_code == 403
    login(client, "ada")  # an admin: role checks pass, only the token is missing
    for path, data in FORMS.items():
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
    client.post("/logout", data={})
    assert client.get("/review", follow_redirects=False).status_code == 200  # a forged logout does nothing
    with Store(db) as store:
        assert store.votes() == [] and store.expert_ratings() == [] and store.aliases("tickets") == {"production": 1}


def test_expert_mode_shows_one_answer_blind_and_stores_a_complete_rating(bench):
    client, db = bench
    token = login(client)
    page = client.get("/review/expert").text
    with Store(db) as store:
        (model, answer), (_, other) = sides(store.battle(1))
    assert answer in page and other not in page and "base-model-x" not in page and "tuned-model-y" not in page
    client.post("/review/expert", data={"csrf": token, "battle_id": 1, "score": 2, "correct": "no",
                                        "correction": " the fixed answer ", "comment": "too vague"})
    with Store(db) as store:
        row = store.expert_ratings()[0]
    assert (row["reviewer"], row["prompt"], row["model"], row["answer"]) == ("rita", "Question 0?", model, answer)
    assert (row["score"], row["correct"], row["correction"], row["comment"]) == (2, 0, "the fixed answer", "too vague")
    assert "Question 1?" in client.get("/review/expert").text  # the next battle, not the one just rated


def test_the_page_promotes_through_the_gate_and_rolls_back(bench):
    client, db = bench
    token = login(client, "ada")
    refused = client.post("/models/promote", data={"csrf": token, "name": "tickets", "version": 3,
                                                   "alias": "production"})
    assert "accuracy" in refused.text and "0.6" in refused.text  # the gate's failing metric, on the page
    client.post("/models/promote", data={"csrf": token, "name": "tickets", "version": 2, "alias": "production"})
    with Store(db) as store:
        assert store.aliases("tickets") == {"production": 2}
    rolled = client.post("/models/rollback", data={"csrf": token, "name": "tickets", "alias": "production"})
    assert "version 2 → 1" in rolled.text
    with Store(db) as store:
        assert store.aliases("tickets") == {"production": 1}
        assert [h["action"] for h in store.alias_history("tickets")] == ["promote", "promote", "rollback"]
    history = rolled.text[rolled.text.index("History (3)"):]  # the dashboard's registry: every move, who and why
    assert "rolled back from the workbench by ada" in history and "promoted from the workbench by ada" in history
    assert 'data-alias="production">production → 1' in rolled.text


def test_the_dashboard_lists_runs_with_their_status_and_version(bench):
    client, db = bench
    with Store(db) as store:
        store.start_run("crashed-run", "train", "tickets", "/nowhere", {})
        store.finish_run("crashed-run", "failed")
        registered = store.model_version("tickets", 2)["run_id"]
    login(client)
    runs = client.get("/").text.split('id="runs"')[1].split("</table>")[0]
    assert re.search(r'crashed-run</a></td><td>train</td><td>tickets</td>\s*<td class="status-failed">failed</td>',
                     runs)
    assert re.search(rf'{registered}</a></td><td>train</td><td>tickets</td>\s*<td class="status-finished">finished</td>'
                     r"<td>tickets:2</td>", runs)


def test_every_asset_is_served_by_honed_itself(bench):
    client, _ = bench
    login(client, "ada")
    assets = set()
    for path in ("/login", "/", "/review", "/review/expert", "/results", "/data", "/playground"):
        page = client.get(path).text
        links = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page)
        assert not [u for u in links if re.match(r"(https?:)?//", u)], (path, links)  # no CDN, works offline
        assets.update(links)
    assert {"/static/app.js", "/static/style.css"} <= assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_passwords_are_stored_as_argon2id_hashes(bench):
    _, db = bench
    with Store(db) as store:
        stored = store.web_user("rita")["password_hash"]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
