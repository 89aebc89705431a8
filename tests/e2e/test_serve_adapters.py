"""Several LoRA adapters over one base, chosen per request by `model`; the vLLM front proxies the same API."""
from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest
import torch
from servekit import free_port, live_server, make_adapter_run

from honed.core.chat import render_prompt
from honed.core.store import Store
from honed.models.load import load_model
from honed.serve.backend import stop_token_ids

MESSAGES = [{"role": "user", "content": "Route this ticket: my invoice is wrong"}]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [make_adapter_run(root / name, seed) for name, seed in (("billing", 1), ("support", 2))]


@pytest.fixture(scope="module")
def adapter_server(runs, tmp_path_factory):
    db = tmp_path_factory.mktemp("serve") / "honed.db"
    with live_server([str(runs[0]), f"helpdesk={runs[1]}"], db) as (url, _process):
        yield url, db


def in_process(adapter_dir, max_tokens: int) -> str:
    from peft import PeftModel

    model, tokenizer = load_model("tiny-random", seed=0)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).eval()
    ids = tokenizer(render_prompt(tokenizer, MESSAGES), add_special_tokens=False, return_tensors="pt")
    stops = stop_token_ids(tokenizer, model)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, eos_token_id=stops, pad_token_id=0)
    new = [t for t in out[0, ids["input_ids"].shape[1]:].tolist() if t not in stops]
    return tokenizer.decode(new, skip_special_tokens=True)


def test_models_lists_base_and_every_adapter(adapter_server):
    client = openai.OpenAI(base_url=f"{adapter_server[0]}/v1", api_key="unused", max_retries=0)
    assert sorted(m.id for m in client.models.list()) == ["billing", "helpdesk", "tiny-random"]


def test_each_adapter_answers_as_in_process_and_they_differ(adapter_server, runs):
    url, db = adapter_server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    answers = {}

    def ask(name):
        answers[name] = client.chat.completions.create(model=name, messages=MESSAGES, max_tokens=12, temperature=0)

    threads = [threading.Thread(target=ask, args=(n,)) for n in ("billing", "helpdesk", "tiny-random")]
    for t in threads:  # concurrently: the three share batches
        t.start()
    for t in threads:
        t.join()
    texts = {name: reply.choices[0].message.content for name, reply in answers.items()}
    assert texts["billing"] == in_process(runs[0] / "adapter", 12)
    assert texts["helpdesk"] == in_process(runs[1] / "adapter", 12)
    assert len(set(texts.values())) == 3
    with Store(db) as store:
        row = store.request(answers["helpdesk"].id)
    assert row["adapter"] == str((runs[1] / "adapter").resolve()) and row["version"] == "train-test-2"


def test_vllm_front_proxies_the_same_api_with_its_own_log(adapter_server, tmp_path):
    """honed's front in vLLM mode, pointed (--upstream) at a running OpenAI-compatible server: here honed itself."""
    import uvicorn

    from honed.serve.server import ServeOptions, build_app

    upstream, _ = adapter_server
    db = tmp_path / "front.db"
    options = ServeOptions(models=["tiny-random"], engine="vllm", upstream=upstream, db=db)
    with pytest.raises(Exception, match="vLLM needs a model directory"):
        build_app(options)  # tiny-random exists only in memory: vLLM could not load it
    from honed.serve.app import create_app
    from honed.serve.log import RequestLog
    from honed.serve.vllm import ProxyBackend

    app = create_app(ProxyBackend(upstream, ["billing", "helpdesk"]), RequestLog(db))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        front = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
        direct = openai.OpenAI(base_url=f"{upstream}/v1", api_key="unused", max_retries=0)
        whole = front.chat.completions.create(model="billing", messages=MESSAGES, max_tokens=8, temperature=0)
        expected = direct.chat.completions.create(model="billing", messages=MESSAGES, max_tokens=8, temperature=0)
        assert whole.choices[0].message.content == expected.choices[0].message.content
        chunks = list(front.chat.completions.create(model="billing", messages=MESSAGES, max_tokens=8,
                                                    temperature=0, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected.choices[0].message.content
        assert all(c.usage is None for c in chunks)  # not asked for: dropped by the front
        with pytest.raises(openai.NotFoundError):
            front.chat.completions.create(model="tiny-random", messages=MESSAGES, max_tokens=2)
        feedback = httpx.post(f"http://127.0.0.1:{port}/v1/feedback", json={"id": whole.id, "rating": 1})
        assert feedback.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    with Store(db) as store:
        assert store.request(whole.id)["response"] == expected.choices[0].message.content
        assert store.request(chunks[0].id) is not None
        assert [f["rating"] for f in store.feedback(whole.id)] == [1]
