"""`honed run` with an API baseline, end to end, against a local fake OpenAI-compatible server on 127.0.0.1.

Also the leak check of issue 11: credentials written into the URL and the API key never reach a written file, the
store or stderr.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from honed.cli import main
from honed.core.paths import honed_home

KEY = "sk-test-0123456789abcdefSECRET"
PASSWORD = "hunter2-in-the-url"


class FakeOpenAI(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        text = body["messages"][-1]["content"].lower()
        label = next((lab for lab, words in (("billing", ("invoice", "charged", "payment", "receipt", "billing")),
                                             ("shipping", ("package", "tracking", "courier", "parcel", "delivery")))
                      if any(w in text for w in words)), "login")
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": label}}],
                              "usage": {"prompt_tokens": 20, "completion_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def fake_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOpenAI.seen = []
    yield f"http://bob:{PASSWORD}@127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_run_with_api_baseline_reports_it_and_leaks_nothing(tiny_project, tmp_path, fake_api, monkeypatch, capsys,
                                                            one_thread):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out"
    code = main(["run", str(tiny_project), "--output", str(out), "train.epochs=1",
                 f"evaluation.api_baseline_url={fake_api}", "evaluation.api_baseline_name=api_model"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["candidates"]) >= {"zero_shot", "fine_tuned", "api_model"}
    assert report["candidates"]["api_model"]["accuracy"] == 1.0  # the fake server answers every row right
    assert report["details"]["api_model"]["api"] is True and report["details"]["api_model"]["decoding"] == "greedy"
    assert "throughput_requests_per_second" not in report["efficiency"].get("api_model", {})
    assert FakeOpenAI.seen and all(s["auth"] == f"Bearer {KEY}" for s in FakeOpenAI.seen)
    assert all(s["path"] == "/v1/chat/completions" for s in FakeOpenAI.seen)

    leaks = [p for p in out.rglob("*") if p.is_file() and _holds_secret(p.read_bytes())]
    assert not leaks, leaks
    assert PASSWORD not in captured.err + captured.out and KEY not in captured.err + captured.out
    db = sqlite3.connect(honed_home() / "honed.db")
    dump = "\n".join(db.iterdump())
    assert PASSWORD not in dump and KEY not in dump
    run_row = db.execute("SELECT status FROM runs WHERE dir=?", (str((out / "run").resolve()),)).fetchone()
    assert run_row[0] == "finished"


def _holds_secret(data: bytes) -> bool:
    return PASSWORD.encode() in data or KEY.encode() in data
