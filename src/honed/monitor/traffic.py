"""Traffic as the monitor sees it: one `Exchange` per request, from a JSONL file or from the store's request log.

The request log is written by `honed serve`; this module reads it through `honed.core.store.Store` (which owns
the SQL, on SQLite and PostgreSQL alike) and writes nothing. Callers pass a Store; a Store's bare connection
(`store.db`, as older callers do) is accepted too.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store

LATENCY_COLUMNS = (("latency_ms", 1.0), ("latency", 1000.0), ("latency_s", 1000.0))  # (column, to ms)


@dataclass
class Exchange:
    input: str
    output: str | None = None
    time: float | None = None
    latency_ms: float | None = None
    tokens: int | None = None
    rating: int | None = None
    messages: list[dict] = field(default_factory=list)
    request_id: str | None = None
    model: str | None = None


@dataclass
class Feedback:
    """A feedback row joined to its logged request (the conversation it rates and the answer given)."""

    key: str
    request_id: str
    rating: int | None
    correction: str | None
    comment: str | None
    time: float | None
    messages: list[dict]
    response: str | None
    model: str | None

    @property
    def is_down(self) -> bool:
        return self.rating is not None and self.rating <= 0


def as_store(source) -> Store:
    """A Store as given, or one over the bare connection of a Store (`store.db`)."""
    return source if isinstance(source, Store) else Store.on_connection(source)


def parse_since(text: str) -> float:
    """`7d`, `24h`, `30m` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        return float(text[:-1]) * units[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise HonedError(f"--since `{text}` is not a duration", "write e.g. 7d, 24h or 30m") from None


def model_matches(logged: str | None, ref: str | None) -> bool:
    """A logged model name belongs to `ref` (NAME@ALIAS matches NAME, NAME@…, NAME:… and the exact ref)."""
    if ref is None:
        return True
    if not logged:
        return False
    name = ref.split("@")[0].split(":")[0]
    return logged == ref or logged == name or logged.startswith((f"{name}@", f"{name}:"))


def logged_requests(store: Store, model: str | None = None, since: float | None = None) -> list[Exchange]:
    """Requests logged by `honed serve` for `model` since the unix time `since`, oldest first, with ratings."""
    store = as_store(store)
    ratings = store.latest_ratings()
    found = []
    for row in map(dict, store.requests_since(since or 0)):
        if not model_matches(row.get("model"), model):
            continue
        messages = request_messages(row.get("request"))
        found.append(Exchange(input=last_user_text(messages), output=row.get("response"), time=row.get("time"),
                              latency_ms=_latency_ms(row), tokens=row.get("completion_tokens"),
                              rating=ratings.get(str(row.get("id"))), messages=messages,
                              request_id=str(row.get("id")), model=row.get("model")))
    return found


def logged_feedback(store: Store, model: str | None = None) -> list[Feedback]:
    """Every feedback row joined to its request (rows whose request is gone are skipped), oldest first."""
    found = []
    for row in map(dict, as_store(store).feedback()):
        if not model_matches(row.get("model"), model):
            continue
        key = f"{row['request_id']}@{row.get('time')}"
        found.append(Feedback(key, str(row["request_id"]), row.get("rating"), row.get("correction"),
                              row.get("comment"), row.get("time"), request_messages(row.get("request")),
                              row.get("response"), row.get("model")))
    return found


def _latency_ms(row: dict) -> float | None:
    for column, scale in LATENCY_COLUMNS:
        if row.get(column) is not None:
            return float(row[column]) * scale
    return None


def request_messages(raw) -> list[dict]:
    """The conversation of a logged request body (chat `messages`, or a completion `prompt` as one user turn)."""
    try:
        body = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return [{"role": "user", "content": str(raw)}]
    if isinstance(body.get("messages"), list):
        return [m for m in body["messages"] if isinstance(m, dict)]
    if isinstance(body.get("prompt"), str):
        return [{"role": "user", "content": body["prompt"]}]
    return []


def last_user_text(messages: list[dict]) -> str:
    return next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")


# --- files --------------------------------------------------------------------------------------------------

INPUT_KEYS = ("input", "text", "prompt", "question")
OUTPUT_KEYS = ("output", "response", "completion", "answer", "label")


def read_exchanges(path: Path) -> list[Exchange]:
    """A JSONL/CSV/… file of traffic: chat rows (`messages`), classification rows (`text`, `label`), or
    `input`/`output` (also `prompt`/`completion`, `response`), with optional `time`, `latency_ms`, `rating`."""
    from honed.data.formats import iter_rows

    found = []
    for line, row in iter_rows(Path(path)):
        if not isinstance(row, dict):
            raise HonedError(f"{path} line {line} is not a JSON object", "write one object per line")
        found.append(_exchange_of(row))
    if not found:
        raise HonedError(f"`{path}` holds no rows", "pass a file with at least one exchange")
    return found


def _exchange_of(row: dict) -> Exchange:
    messages = row.get("messages") if isinstance(row.get("messages"), list) else []
    if messages:
        text = last_user_text(messages)
        answer = next((m.get("content") for m in reversed(messages) if m.get("role") == "assistant"), None)
    else:
        text = next((str(row[k]) for k in INPUT_KEYS if row.get(k) is not None), "")
        answer = None
    output = next((str(row[k]) for k in OUTPUT_KEYS if row.get(k) is not None), answer)
    return Exchange(input=text, output=output, time=_number(row.get("time")), latency_ms=_number(row.get("latency_ms")),
                    tokens=row.get("completion_tokens"), rating=row.get("rating"), messages=messages)


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def now() -> float:
    return time.time()
