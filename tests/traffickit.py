"""Test helpers for the lifecycle: ticket-like traffic, and request/feedback rows in the store.

Rows are written with the columns of `honed serve`'s request log (store migration `_v4_request_log`), with a
chosen time so tests can place traffic in the past.
"""
from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid

from projectkit import TOPICS

OFF_TOPIC = ["What is the best pasta recipe with fresh basil?", "Who won the football match yesterday evening?",
             "Write me a short poem about the sea and the moon.", "How far is Mars from the sun in kilometres?",
             "Which houseplants survive with very little light?", "Explain how a rainbow forms after rain."]


def ticket_traffic(n: int, seed: int, longer: int = 1, off_topic: bool = False) -> list[dict]:
    """Rows `{"text", "label"}` like tiny_project's data; `longer` repeats each message, `off_topic` swaps topics."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = rng.choice(list(TOPICS))
        text = f"Hello, about my {rng.choice(TOPICS[label])}: ticket {i} {rng.randint(100, 999)}"
        if off_topic:
            text = f"{rng.choice(OFF_TOPIC)} ({i})"
        rows.append({"text": " ".join([text] * longer), "label": label})
    return rows


def write_rows(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def log_request(db: sqlite3.Connection, model: str, messages: list[dict], response: str, *,
                latency_ms: float = 50.0, when: float | None = None, request_id: str | None = None) -> str:
    request_id = request_id or uuid.uuid4().hex
    with db:
        db.execute("INSERT INTO requests (id, time, model, adapter, version, endpoint, request, response, latency_s, "
                   "prompt_tokens, completion_tokens, sampling) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (request_id, when or time.time(), model, None, None, "/v1/chat/completions",
                    json.dumps({"messages": messages}), response, latency_ms / 1000, 20, 3,
                    json.dumps({"temperature": 0})))
    return request_id


def log_feedback(db: sqlite3.Connection, request_id: str, rating: int, correction: str | None = None,
                 comment: str | None = None, when: float | None = None) -> None:
    with db:
        db.execute("INSERT INTO feedback VALUES (?,?,?,?,?)", (request_id, rating, correction, comment,
                                                             when or time.time()))
