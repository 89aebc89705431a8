"""Extraction: a synthetic answer must occur in its input, and the second pass must find it again; augmentation
never touches the answer's words."""
from __future__ import annotations

import json

from honed.core.config import Config
from honed.synth.augment import augment
from honed.synth.synthesize import synthesize

CITIES = ["Berlin", "Lisbon", "Oslo", "Quito", "Hanoi", "Dakar", "Lima", "Perth", "Cairo", "Tromso"]


def seed(i: int, city: str) -> dict:
    return {"kind": "conversation", "meta": {"source": "seeds.jsonl", "line": i},
            "messages": [{"role": "system", "content": "Name the destination city."},
                         {"role": "user", "content": f"Order {100 + i} for Anna Meyer ships to {city} on Monday."},
                         {"role": "assistant", "content": city}]}


class FakeTeacher:
    """Writes orders; every third one names a city in its answer that is not in its input."""
    name = "fake"

    def __init__(self):
        self.calls = 0

    def complete(self, messages, max_tokens, temperature):
        self.calls += 1
        if messages[0]["role"] == "system":  # second pass: answer from the input
            return messages[-1]["content"].split(" ships to ")[1].split(" ")[0]
        city = ["Nairobi", "Bogota", "Riga", "Hobart", "Tunis", "Manila", "Porto", "Bergen"][self.calls % 8]
        answer = "Atlantis" if self.calls % 3 == 0 else city
        return json.dumps({"input": f"Parcel {7000 + self.calls} for Jon Park ships to {city} by Friday.",
                           "answer": answer})


def config() -> Config:
    return Config.model_validate({"objective": {"task": "extraction", "metric": "exact_match"},
                                  "data": {"instruction": "Name the destination city."}})


def test_extraction_answers_occur_in_their_inputs():
    seeds = [seed(i, c) for i, c in enumerate(CITIES)]
    result = synthesize(config(), seeds, [], 4, FakeTeacher())
    assert len(result.rows) == 4
    for row in result.rows:
        text, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        assert answer in text and row["meta"]["synthetic"]["teacher"] == "fake"
        assert "copied exactly from the input" in row["meta"]["synthetic"]["prompt"]
    assert {d["code"] for d in result.dropped} == {"answer_not_in_input"}


def test_augmentation_keeps_the_answer_in_the_input():
    seeds = [seed(i, c) for i, c in enumerate(CITIES)]
    result = augment(config(), seeds, [], 12)
    assert len(result.rows) == 12
    for row in result.rows:
        text, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        assert answer in text and text not in {s["messages"][1]["content"] for s in seeds}
