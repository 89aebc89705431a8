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
    kept, dropped = clean_records(rows, CleanOptions(min_chars=5, max_chars=100, strip_html=True,
                                                     drop_patterns=[r"spam\.example"]))
    assert [r["messages"][1]["content"] for r in kept] == ["fine answer", "Oui"]
    assert kept[1]["messages"][0]["content"] == "Caf\u00e9?"
    assert [code for _, (code, _detail) in dropped] == ["empty", "too_short", "too_long", "pattern"]  # typed, not parsed
    assert len(kept) + len(dropped) == len(rows)


# --- issue 11, item 10: HTML that is content survives; every rewritten row is counted -----------------------------


CONTENT = ["Use the <br> tag to break a line.", "Wrap it in <b>bold</b> or <em>emphasis</em>.",
           "Escape it as &amp; in HTML.", "if a < b and List<int> or <EMAIL>", "The <p> element is a paragraph."]


def test_auto_keeps_html_that_is_content():
    for text in CONTENT:
        assert normalise_text(text, "auto") == text


def test_auto_strips_what_is_markup_beyond_doubt():
    assert normalise_text('<a href="https://x.example">Click</a> here', "auto") == "Click here"
    assert normalise_text("<!DOCTYPE html><html><head><title>t</title></head><body><p>Hi &amp; bye</p></body></html>",
                          "auto") == "Hi & bye"
    assert normalise_text("before<script>alert(1)</script> after", "auto") == "before after"


def test_true_strips_every_known_tag_and_keeps_lookalikes():
    assert normalise_text("Use the <br> tag", True) == "Use the\n tag"
    assert normalise_text("List<int> and <EMAIL>", True) == "List<int> and <EMAIL>"


def test_changed_rows_are_counted():
    from collections import Counter

    rows = [_row("q1", '<div class="x">scraped answer</div>'), _row("q2", "Use the <br> tag"),
            _row("q3  with   spaces", "fine"), _row("q4", "fine")]
    changes = Counter()
    kept, dropped = clean_records(rows, CleanOptions(), changes)
    assert changes == {"changed": 2, "html_stripped": 1}
    assert kept[0]["messages"][1]["content"] == "scraped answer"
    assert kept[1]["messages"][1]["content"] == "Use the <br> tag"


def test_prepare_audit_counts_cleaning(tiny_project, tmp_path):
    import json

    from honed.core.config import load_config
    from honed.data.prepare import run_prepare

    data = tiny_project.parent / "data.jsonl"
    lines = data.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] = f'<span style="x">{first["text"]}</span>'
    data.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")
    run_prepare(load_config(tiny_project, ["data.audit_tokens=false"]), tmp_path / "out")
    audit = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert audit["cleaning"]["html_stripped"] == 1 and audit["cleaning"]["changed"] >= 1
