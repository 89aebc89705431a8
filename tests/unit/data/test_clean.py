"""Cleaning: text normalisation and drops with reasons."""
from __future__ import annotations

from honed.data.clean import CleanOptions, clean_records, normalise_text


def test_normalise_text():
    assert normalise_text("Cafe\u0301") == "Caf\u00e9"  # NFC
    assert normalise_text("a\x00b\x07c\u200bd\ufeff") == "abcd"  # control and zero-width characters
    assert normalise_text("  one   two\u00a0three \r\n\r\n\n\nfour  ") == "one two three\n\nfour"
    assert normalise_text("def f():\n    return 1") == "def f():\n    return 1"  # indentation survives
    assert normalise_text("<p>Hi&nbsp;there &amp; you</p><br>x") == "Hi there & you\n\nx"
    assert normalise_text("if a < b and List<int> or <EMAIL>") == "if a < b and List<int> or <EMAIL>"
    assert normalise_text("<b>keep</b>", strip_html=False) == "<b>keep</b>"


def _row(user: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


def test_clean_records_drops_with_reasons():
    rows = [_row("fine question", "fine answer"), _row("q", "\u200b  "), _row("q", "x"), _row("q", "y" * 200),
            _row("buy now at spam.example", "ok sure"), _row("Caf\u0065\u0301?", "<i>Oui</i>")]
    kept, dropped = clean_records(rows, CleanOptions(min_chars=5, max_chars=100, drop_patterns=[r"spam\.example"]))
    assert [r["messages"][1]["content"] for r in kept] == ["fine answer", "Oui"]
    assert kept[1]["messages"][0]["content"] == "Caf\u00e9?"
    assert [reason.split(":")[0] for _, reason in dropped] == ["empty", "too_short", "too_long", "pattern"]
    assert len(kept) + len(dropped) == len(rows)
