"""A fake OpenAI-compatible teacher on 127.0.0.1 for synthetic-data tests, in three moods.

good: writes new tickets for the asked label and classifies by keyword, but also slips in the traps the filters
must catch: copies of a seed, repeats of its own earlier answers, copies of evaluation rows (`Teacher.trap_rows`).
garbage: symbol soup. mislabel: always writes a shipping ticket, and its second pass always says "billing".
"""
from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

KEYWORDS = (("billing", ("invoice", "charged", "payment", "receipt", "billing")),
            ("shipping", ("package", "tracking", "courier", "parcel", "delivery")))
PHRASES = {"billing": ["a double charge on my invoice", "my payment was declined", "a missing receipt"],
           "shipping": ["my parcel never arrived", "the courier left no note", "a wrong delivery address"],
           "login": ["a two-factor code that never comes", "my account is locked", "a password reset loop"]}


class Teacher(BaseHTTPRequestHandler):
    mood = "good"
    calls = 0
    written = 0  # generation requests (the second-pass requests are not counted)
    trap_rows: ClassVar[list[tuple[str, str]]] = []  # (text, label) of evaluation rows
    seed_rows: ClassVar[list[tuple[str, str]]] = []  # (text, label)
    last = ""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        messages = body["messages"]
        Teacher.calls += 1
        if messages[0]["role"] == "system":  # the second pass: classify the new input
            text = messages[-1]["content"].lower()
            answer = "billing" if Teacher.mood == "mislabel" else next(
                (lab for lab, words in KEYWORDS if any(w in text for w in words)), "login")
        else:
            answer = self._write(messages[-1]["content"])
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}],
                              "usage": {"prompt_tokens": 50, "completion_tokens": 12}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _write(self, prompt: str) -> str:
        Teacher.written += 1
        n = Teacher.written
        if Teacher.mood == "garbage":
            return "#### %%% 0x1f @@ ~~ ##"
        label = re.search(r'whose answer is "(\w+)"', prompt).group(1)
        same_label_seeds = [text for text, seed_label in Teacher.seed_rows if seed_label == label]
        if Teacher.mood == "mislabel":
            label = "shipping"
        elif n % 4 == 2 and same_label_seeds:  # a copy of a real row, correctly labelled: only dedup catches it
            return same_label_seeds[n % len(same_label_seeds)]
        elif n % 4 == 3 and Teacher.last:
            return Teacher.last
        elif n % 8 == 0 and any(lab == label for _, lab in Teacher.trap_rows):  # an evaluation row: contamination
            return next(text for text, lab in Teacher.trap_rows if lab == label)
        phrases = PHRASES[label]
        Teacher.last = f"Hi team, I need help with {phrases[n % len(phrases)]}, reference number {1000 + 37 * n}."
        return Teacher.last

    def log_message(self, *args):
        pass


@contextmanager
def teacher(mood: str = "good"):
    Teacher.mood, Teacher.calls, Teacher.written, Teacher.last = mood, 0, 0, ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Teacher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
