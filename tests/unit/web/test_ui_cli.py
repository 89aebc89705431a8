"""`honed ui` chores: an account from the environment (never argv), battle import, exports."""
import json

import pytest
from webkit import write_battles

from honed.cli import main
from honed.core.errors import HonedError
from honed.core.store import Store
from honed.web.auth import authenticate, session_secret


def test_add_user_reads_the_password_from_the_environment(tmp_path, monkeypatch, capsys):
    db = tmp_path / "h.db"
    monkeypatch.setenv("HONED_UI_PASSWORD", "s3cret-passphrase")
    assert main(["ui", "--db", str(db), "--add-user", "ada", "--role", "admin"]) == 0
    assert "s3cret" not in capsys.readouterr().out
    with Store(db) as store:
        assert authenticate(store, "ada", "s3cret-passphrase") == "admin"
        assert authenticate(store, "ada", "wrong-passphrase") is None
        assert "s3cret" not in store.web_user("ada")["password_hash"]


def test_add_user_without_a_password_source_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HONED_UI_PASSWORD", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    assert main(["ui", "--db", str(tmp_path / "h.db"), "--add-user", "ada"]) == 2
    assert "HONED_UI_PASSWORD" in capsys.readouterr().err


def test_import_then_export(tmp_path, capsys):
    db = tmp_path / "h.db"
    assert main(["ui", "--db", str(db), "--battles", str(write_battles(tmp_path / "b.jsonl", 3))]) == 0
    assert main(["ui", "--db", str(db), "--export", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "out")
    tasks = json.loads((tmp_path / "out" / "label-studio.json").read_text())
    assert [t["data"]["prompt"] for t in tasks] == ["Question 0?", "Question 1?", "Question 2?"]


def test_a_malformed_battle_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "answers": {"a": "x", "b": "y"}}\n{"prompt": "p", "answers": {"a": "x"}}\n')
    with Store(tmp_path / "h.db") as store, pytest.raises(HonedError, match="bad.jsonl:2"):
        from honed.web.battles import import_battles

        import_battles(store, bad)


def test_the_session_secret_is_private_and_stable(tmp_path):
    first = session_secret(tmp_path)
    assert session_secret(tmp_path) == first and len(first) > 40
    assert (tmp_path / "web-secret").stat().st_mode & 0o777 == 0o600


def test_generated_battles_ask_both_models_every_prompt(tmp_path):
    import httpx

    from honed.web.generate import generate_battles, read_prompts

    asked = []

    def server(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append((body["model"], body["messages"][0]["content"]))
        return httpx.Response(200, json={"choices": [{"message": {"content": f"{body['model']} says hi"}}]})

    prompts = tmp_path / "prompts.txt"
    prompts.write_text('first question\n{"prompt": "second question"}\n\n')
    with Store(tmp_path / "h.db") as store, httpx.Client(base_url="http://x", transport=httpx.MockTransport(server)) \
            as client:
        assert generate_battles(store, client, read_prompts(prompts), ("base", "tuned")) == 2
        battles = [dict(b) for b in store.battles()]
    assert asked == [("base", "first question"), ("tuned", "first question"), ("base", "second question"),
                     ("tuned", "second question")]
    assert battles[1]["answer_b"] == "tuned says hi" and battles[1]["source"] == "generated"


def test_ui_help_imports_no_server():
    import subprocess
    import sys

    code = ("import sys; from honed.cli import build_parser; build_parser().parse_args(['ui']); "
            "print(sorted(m for m in ('fastapi', 'torch', 'uvicorn', 'honed.web.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
