"""PII: every type redacted to its placeholder, checksums respected, the surrounding text untouched."""
from __future__ import annotations

import io
import json

import pytest

from honed.cli import main
from honed.data.pii import Redactor, iban_valid, luhn_valid

CASES = [
    ("EMAIL", "jane.doe+news@example.co.uk"),
    ("PHONE", "+1 (415) 555-2671"), ("PHONE", "+44 20 7946 0958"), ("PHONE", "020 7946 0958"),
    ("PHONE", "(415) 555-2671"), ("PHONE", "415-555-2671"), ("PHONE", "07700 900123"), ("PHONE", "01 23 45 67 89"),
    ("PHONE", "+49 30 1234567"),
    ("CREDIT_CARD", "4111 1111 1111 1111"), ("CREDIT_CARD", "5500-0000-0000-0004"), ("CREDIT_CARD", "378282246310005"),
    ("IBAN", "GB82 WEST 1234 5698 7654 32"), ("IBAN", "DE89370400440532013000"),
    ("SSN", "123-45-6789"),
    ("IP_ADDRESS", "8.8.8.8"), ("IP_ADDRESS", "192.168.1.20"), ("IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    ("API_KEY", "AKIAIOSFODNN7EXAMPLE"), ("API_KEY", "ghp_" + "a1B2" * 9), ("API_KEY", "sk-proj-" + "x9Y8" * 6),
    ("API_KEY", "xoxb-1234567890-abcdefghij"), ("API_KEY", "AIza" + "S" * 35),
]


@pytest.mark.parametrize("kind,value", CASES)
def test_each_type_is_redacted_and_context_survives(kind, value):
    text, counts = Redactor().redact(f"Before, {value} after.")
    assert text == f"Before, <{kind}> after."
    assert counts == {kind: 1}


def test_secrets_in_urls_and_assignments_keep_their_frame():
    text, counts = Redactor().redact("git clone https://bob:hunter2@git.example.com/r.git; password = s3cr3tpass")
    assert text == "git clone https://<CREDENTIALS>@git.example.com/r.git; password = <SECRET>"
    assert counts == {"CREDENTIALS": 1, "SECRET": 1}
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    assert Redactor().redact(f"key: {key} end")[0] == "key: <SECRET> end"


def test_checksums_decide():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    for invalid in ("card 4111 1111 1111 1112 end", "iban GB82WEST12345698765433 end", "ssn 000-12-3456 end"):
        assert Redactor().redact(invalid) == (invalid, {})


def test_numbers_that_are_not_pii_survive():
    text = "Order 12345 shipped 2024-03-15 at 10:30:45, version 1.2.3, ticket 2024-000123, total 1,299.99"
    assert Redactor().redact(text) == (text, {})


def test_public_ips_only():
    text, counts = Redactor(public_ips_only=True).redact("dns 8.8.8.8, lan 192.168.1.20, lo 127.0.0.1")
    assert text == "dns <IP_ADDRESS>, lan 192.168.1.20, lo 127.0.0.1" and counts == {"IP_ADDRESS": 1}


def test_several_types_in_one_text_are_counted():
    text, counts = Redactor().redact("mail a@b.io or c@d.org, call +33 1 23 45 67 89, card 4012888888881881")
    assert text == "mail <EMAIL> or <EMAIL>, call <PHONE>, card <CREDIT_CARD>"
    assert counts == {"EMAIL": 2, "PHONE": 1, "CREDIT_CARD": 1}


def test_ner_without_presidio_gives_the_install_hint(monkeypatch):
    import builtins

    from honed.core.errors import HonedError

    real_import = builtins.__import__

    def no_presidio(name, *args, **kwargs):
        if name.startswith("presidio"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_presidio)
    with pytest.raises(HonedError, match="Presidio") as err:
        Redactor(ner=True)
    assert "pip install presidio-analyzer" in err.value.fix


def test_redact_cli_jsonl_and_text(tmp_path, monkeypatch, capsys):
    rows = [{"messages": [{"role": "user", "content": "I am bob@example.com"}], "id": 7},
            {"text": "ssn 123-45-6789"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", "redact", str(src), "--json"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(x) for x in captured.out.splitlines()] == [
        {"messages": [{"role": "user", "content": "I am <EMAIL>"}], "id": 7}, {"text": "ssn <SSN>"}]
    assert json.loads(captured.err.strip().splitlines()[-1]) == {"EMAIL": 1, "SSN": 1}
    monkeypatch.setattr("sys.stdin", io.StringIO("call 415-555-2671 now\nno pii here\n"))
    assert main(["data", "redact", "-"]) == 0
    assert capsys.readouterr().out == "call <PHONE> now\nno pii here\n"


# --- issue 11, item 14: secrets and PII forms the redactor used to miss -------------------------------------------

MISSED = [
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = <SECRET>"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=<SECRET>"),
    ("client_secret: 8f2b1c9d7e6a5f4b3c2d", "client_secret: <SECRET>"),
    ("Authorization: Bearer abc123.def456-ghi789", "Authorization: Bearer <SECRET>"),
    ("token glpat-AbCdEfGhIjKlMnOpQrSt12", "token <API_KEY>"),
    ("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=x",
     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=<SECRET>;EndpointSuffix=x"),
    ('password = "correct horse battery staple"', 'password = "<SECRET>"'),
    ("db_password: 'hunter two three'", "db_password: '<SECRET>'"),
    ("dial 0044 20 7946 0958 today", "dial <PHONE> today"),
    ("call 1-800-555-0199 today", "call <PHONE> today"),
    ("call 4155552671 today", "call <PHONE> today"),
    ("iban gb82west12345698765432 ok", "iban <IBAN> ok"),
    ("card 4111.1111.1111.1111 ok", "card <CREDIT_CARD> ok"),
    ("mail josé@bücher.de ok", "mail <EMAIL> ok"),
    ("mail 用户@例子.广告 ok", "mail <EMAIL> ok"),
]


@pytest.mark.parametrize("text,expected", MISSED)
def test_forms_that_used_to_slip_through(text, expected):
    assert Redactor().redact(text)[0] == expected


def test_card_number_held_as_a_json_number(tmp_path):
    from collections import Counter

    from honed.data.pii import redact_value

    counts = Counter()
    row = {"card": 4111111111111111, "qty": 3, "ok": True, "order": 12345678}
    assert redact_value(row, Redactor(), counts) == {"card": "<CREDIT_CARD>", "qty": 3, "ok": True, "order": 12345678}
    assert counts == {"CREDIT_CARD": 1}


def test_phone_region_decides_national_numbers():
    german_mobile = "ruf an: 0151 23456789"
    assert Redactor(phone_region="DE").redact(german_mobile)[0] == "ruf an: <PHONE>"
    assert Redactor().redact("ruf an: +49 151 23456789")[0] == "ruf an: <PHONE>"
    assert Redactor(phone_region="DE").redact("track 00123456789 now") == ("track 00123456789 now", {})
    assert Redactor().redact("track 00123456789 now") == ("track 00123456789 now", {})


def test_unknown_phone_region_is_a_clear_error():
    from honed.core.errors import HonedError

    with pytest.raises(HonedError, match="phone region"):
        Redactor(phone_region="XX")


NOT_PII = [
    "Order 12345 shipped 2024-03-15 at 10:30:45, version 1.2.3, ticket 2024-000123, total 1,299.99",
    "upgrade to version 1.2.3.4 now", "firmware v10.0.0.1 released", "ISBN 978-3-16-148410-0",
    "ISBN 0-306-40615-2", "id 550e8400-e29b-41d4-a716-446655440000", "mac 00:1A:2B:3C:4D:5E",
    "order #100234567 is late", "tracking number 00123456789", "prices $1,299.99 and €45.50 on 12/31/2024",
    "the secret: is patience", "password reset link sent", "Use the <br> tag",
]


@pytest.mark.parametrize("text", NOT_PII)
def test_false_positive_suite(text):
    for region in ("US", "DE", "GB"):
        assert Redactor(phone_region=region).redact(text) == (text, {}), region
