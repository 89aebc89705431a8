"""`honed ui` chores: an account from the environment (never argv), battle import, exports."""
import json

import pytest

from honed.cli import main
from honed.core.errors import HonedError
from honed.core.store import Store
from honed.web.auth import authenticate, session_secret
from webkit import write_battles


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
