"""A seeded corpus of bad (and barely good) dataset files, generated on demand — no committed binaries."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

GOOD_ROWS = 30


def _chat(i: int, answer: str | None = None) -> dict:
    return {"messages": [{"role": "user", "content": f"Question number {i}: how do I reset item {i * 7}?"},
                         {"role": "assistant", "content": answer or f"Open settings, choose item {i * 7}, press reset."}]}


def _jsonl(rows) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def build_corpus(root: Path, seed: int = 11) -> dict[str, Path]:
    """name → file. Each file is something a user could plausibly hand honed."""
    rng = random.Random(seed)
    good = _jsonl(_chat(i) for i in range(GOOD_ROWS))
    files: dict[str, bytes] = {
        "empty.jsonl": b"",
        "blank_lines.jsonl": b"\n\n   \n\t\n",
        "bom.jsonl": b"\xef\xbb\xbf" + good,
        "crlf.jsonl": good.replace(b"\n", b"\r\n"),
        "bom_excel.csv": b"\xef\xbb\xbftext,label\r\n" + b"".join(
            f"ticket {i} about billing issue {i * 3},{'billing' if i % 2 else 'login'}\r\n".encode()
            for i in range(GOOD_ROWS)),
        "latin1.jsonl": good[:200] + b'\n{"text": "caf\xe9 cr\xe8me"}\n',
        "latin1.csv": b"text,label\ncaf\xe9,a\n",
        "utf16.jsonl": "\ufeff".encode("utf-16-le") + good.decode().encode("utf-16-le"),
        "truncated.jsonl.gz": gzip.compress(good * 20)[:300],
        "not_gzip.jsonl.gz": good,
        "scalar.json": b"42",
        "string.json": b'"hello"',
        "list_of_numbers.json": b"[1, 2, 3]",
        "broken.json": b'[{"text": "a"}, {"text": ',
        "truncated_line.jsonl": good + json.dumps(_chat(99)).encode()[:-7] + b"\n",
        "binary_garbage.jsonl": bytes(rng.randrange(256) for _ in range(4000)),
        "scalars_per_line.jsonl": b'[1, 2]\n"a string"\n42\nnull\ntrue\n' + good,
        "deep_nesting.jsonl": b"[" * 50000 + b"]" * 50000 + b"\n" + good,
        "lone_surrogate.jsonl": good + b'{"text": "a\\ud800b"}\n',
        "wrong_types.jsonl": _jsonl([{"messages": "hi"}, {"messages": [1, 2]}, {"messages": [{"content": "x"}]},
                                     {"messages": [{"role": "user", "content": None}]}, {"text": 12},
                                     {"text": None}, {}]) + good,
        "csv_extra_cells.csv": b"text,label\nhello there,a\nhi,b,extra,more\n",
        "csv_nul.csv": b"text,label\nhel\x00lo,a\n",
        "csv_unclosed_quote.csv": b'text,label\n"never closed,a\nnext,b\n',
        "duplicates_only.jsonl": _jsonl([_chat(1)] * 25),
        "control_chars.jsonl": _jsonl([_chat(i, f"ans\x00wer\u200b {i}\x1b[31m") for i in range(GOOD_ROWS)]),
        "huge_row.jsonl": _jsonl([_chat(0, "word " * 30000)]) + good,
        "html_answers.jsonl": _jsonl([_chat(i, f"Use the <br> tag, or <a href='x'>link {i}</a>")
                                      for i in range(GOOD_ROWS)]),
        "pii_everywhere.jsonl": _jsonl([_chat(i, f"mail me at user{i}@example.com, card 4111 1111 1111 1111, "
                                               f"AWS_SECRET_ACCESS_KEY=abcd{i}efgh1234ijkl") for i in range(GOOD_ROWS)]),
        "card_as_number.jsonl": b"".join(json.dumps({"text": f"order {i}", "label": "a", "card": 4111111111111111}
                                                    ).encode() + b"\n" for i in range(GOOD_ROWS)),
        "corrupt.parquet": bytes(rng.randrange(256) for _ in range(512)),
        "unknown.xml": b"<rows><row>hi</row></rows>",
    }
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, data in files.items():
        (root / name).write_bytes(data)
        out[name] = root / name
    (root / "a_directory.jsonl").mkdir(exist_ok=True)
    out["a_directory.jsonl"] = root / "a_directory.jsonl"
    return out
