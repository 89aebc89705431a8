"""Battles produced on demand: each prompt sent to two served models (or adapters) of an OpenAI-compatible
server, the two answers stored as one battle."""
from __future__ import annotations

import json
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.store import Store


def read_prompts(path: Path) -> list[str]:
    """One prompt a line: a JSON string, or an object with `prompt`; plain text lines are prompts as they are."""
    prompts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = line
        prompts.append(value.get("prompt") if isinstance(value, dict) else value)
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise HonedError(f"{path} holds no usable prompts", 'write one prompt a line (text, or {"prompt": "..."})')
    return prompts


def generate_battles(store: Store, client, prompts: list[str], models: tuple[str, str], *, max_tokens: int = 256,
                     seed: int = 0) -> int:
    """Ask both models every prompt (temperature 0) through `client` (an httpx.Client on the server's base URL)."""
    for prompt in prompts:
        answers = [_answer(client, model, prompt, max_tokens) for model in models]
        store.add_battle(prompt, models[0], answers[0], models[1], answers[1], seed=seed, source="generated")
    return len(prompts)


def _answer(client, model: str, prompt: str, max_tokens: int) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
            "temperature": 0}
    answer = client.post("/v1/chat/completions", json=body)
    if answer.status_code != 200:
        raise HonedError(f"the server answered {answer.status_code} for model `{model}`: {answer.text[:200]}",
                         "check the model names with GET /v1/models, and --api-key-env if the server needs a key")
    return answer.json()["choices"][0]["message"]["content"] or ""
