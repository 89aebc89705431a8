"""Config boundaries: safe project names, no credentials in URLs, keys only from API-key variables, clear YAML errors."""
from __future__ import annotations

import pytest

from honed.core.config import load_config, redact_urls, strip_userinfo, validate_config
from honed.core.errors import HonedError


@pytest.mark.parametrize("name", ["../../../x", "/etc/passwd", "a/b", "..", ".hidden", "-flag", "", "a" * 65,
                                  "name with space", "tab\tname"])
def test_unsafe_project_names_are_refused(name):
    with pytest.raises(HonedError) as err:
        validate_config({"project": name})
    assert "`project`" in err.value.render() and "simple name" in err.value.render()


@pytest.mark.parametrize("name", ["tiny", "support-bot_v2", "Acme.Tickets", "a" * 64])
def test_safe_project_names_pass(name):
    assert validate_config({"project": name}).project == name


def test_credentials_are_stripped_from_urls_before_anything_sees_them(capsys):
    cfg = validate_config({"evaluation": {"api_baseline_url": "http://bob:hunter2@127.0.0.1:8000/v1",
                                          "judge_url": "https://tok@judge.example.com/v1"}})
    assert cfg.evaluation.api_baseline_url == "http://127.0.0.1:8000/v1"
    assert cfg.evaluation.judge_url == "https://judge.example.com/v1"
    dumped = cfg.to_yaml()
    assert "hunter2" not in dumped and "tok@" not in dumped
    err = capsys.readouterr().err
    assert "removed the credentials" in err and "hunter2" not in err


def test_a_bad_url_error_does_not_echo_the_password():
    with pytest.raises(HonedError) as err:
        validate_config({"evaluation": {"judge_url": "ftp://bob:hunter2@host/x"}})
    assert "hunter2" not in err.value.render() and "judge_url" in err.value.render()


def test_url_helpers():
    assert strip_userinfo("http://u:p@h:1/v1?q=1") == "http://h:1/v1?q=1"
    assert strip_userinfo("http://h/v1") == "http://h/v1"
    assert redact_urls("honed run c evaluation.judge_url=http://u:p@h/v1") == "honed run c evaluation.judge_url=http://h/v1"


def test_api_key_env_must_name_an_api_key_variable(monkeypatch):
    with pytest.raises(HonedError) as err:
        validate_config({"evaluation": {"api_key_env": "AWS_SECRET_ACCESS_KEY"}})
    assert "*_API_KEY" in err.value.render() and "HONED_ALLOW_KEY_ENV" in err.value.render()
    assert validate_config({"evaluation": {"api_key_env": "MISTRAL_API_KEY"}}).evaluation.api_key_env == "MISTRAL_API_KEY"
    monkeypatch.setenv("HONED_ALLOW_KEY_ENV", "MY_TOKEN")
    assert validate_config({"evaluation": {"api_key_env": "MY_TOKEN"}}).evaluation.api_key_env == "MY_TOKEN"


def test_chat_client_refuses_a_non_key_variable_and_warns_on_plain_http(monkeypatch, capsys):
    from honed.evaluate.api import ChatClient

    with pytest.raises(HonedError, match="API-key variable"):
        ChatClient("https://api.example.com/v1", "m", api_key_env="AWS_SECRET_ACCESS_KEY")
    ChatClient("http://127.0.0.1:9/v1", "m")
    assert "unencrypted" not in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    ChatClient("http://api.example.com/v1", "m")
    assert "unencrypted" in capsys.readouterr().err


@pytest.mark.parametrize("override", ["train.epochs=[1,", "data.instruction={a: b", "train..epochs=1",
                                      "evaluation.judge_url=: :"])
def test_malformed_overrides_are_clear_errors(tmp_path, override):
    config = tmp_path / "honed.yaml"
    config.write_text("project: p\n", encoding="utf-8")
    with pytest.raises(HonedError):
        load_config(config, [override])


def test_non_utf8_and_bom_configs(tmp_path):
    config = tmp_path / "honed.yaml"
    config.write_bytes(b"\xef\xbb\xbfproject: p\n")
    assert load_config(config).project == "p"
    config.write_bytes(b"project: caf\xe9\n")
    with pytest.raises(HonedError, match="not UTF-8"):
        load_config(config)
