"""Any model behind an OpenAI-compatible URL: as one more baseline candidate, and as the judge's client.

`evaluation.api_baseline_url` (e.g. http://localhost:8000/v1) and `evaluation.api_baseline_model` add a
candidate that sees exactly the prompts the local candidates see, decoded greedily (temperature 0). The key is
read from the environment variable named by `evaluation.api_key_env`, never from the config file. httpx is
imported only here (pip install httpx, or `pip install honed[serve]`).
"""
from __future__ import annotations

import os
import time

from honed.core.config import Config, check_key_env, is_private_transport, strip_userinfo
from honed.core.errors import HonedError


class ChatClient:
    """POST {url}/chat/completions with retries; `transport` lets tests answer without a network."""

    def __init__(self, url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout: float = 60.0,
                 transport=None, retries: int = 2):
        try:
            import httpx
        except ImportError:
            raise HonedError("an OpenAI-compatible endpoint needs httpx, which is not installed",
                             "pip install httpx  (or pip install 'honed[serve]')") from None
        base = strip_userinfo(url).rstrip("/")
        self.endpoint = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        self.model = model
        try:
            check_key_env(api_key_env)
        except ValueError as exc:
            raise HonedError(str(exc), "set evaluation.api_key_env to a *_API_KEY variable") from None
        key = os.environ.get(api_key_env, "")
        if not is_private_transport(self.endpoint):
            from honed.core.progress import console

            console.print(f"[yellow]warning:[/] {self.endpoint} is neither https nor this machine: prompts"
                          f"{' and the API key' if key else ''} travel unencrypted", highlight=False)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self.retries = retries

    def complete(self, messages: list[dict], max_tokens: int, temperature: float = 0.0) -> tuple[str, dict]:
        """(answer text, usage dict) for one conversation."""
        import httpx

        body = {"model": self.model, "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
                "max_tokens": max_tokens, "temperature": temperature}
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(self.endpoint, json=body)
                response.raise_for_status()
                data = response.json()
                return (data["choices"][0]["message"]["content"] or "").strip(), data.get("usage") or {}
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                if attempt == self.retries:
                    raise HonedError(f"the endpoint {self.endpoint} did not answer usably: {exc}",
                                     "check the URL, the model name and the API key variable "
                                     "(evaluation.api_key_env)") from None
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")


def evaluate_api_candidate(cfg: Config, prompts: list[list[dict]], references: list[str], labels: list[str],
                           transport=None):
    """The API model on the same prompts; classification answers are parsed to labels (no label scoring)."""
    from honed.core.progress import make_progress
    from honed.evaluate.candidates import score_candidate
    from honed.evaluate.metrics import parse_label

    ev = cfg.evaluation
    client = ChatClient(ev.api_baseline_url, ev.api_baseline_model, ev.api_key_env, transport=transport)
    outputs, latencies, prompt_tokens, output_tokens = [], [], [], []
    started = time.perf_counter()
    with make_progress() as progress:
        task = progress.add_task(f"eval {ev.api_baseline_name}", total=len(prompts), info=client.endpoint)
        for messages in prompts:
            clock = time.perf_counter()
            text, usage = client.complete(messages, ev.max_new_tokens)
            latencies.append(1000 * (time.perf_counter() - clock))
            outputs.append(text)
            prompt_tokens.append(int(usage.get("prompt_tokens", 0)))
            output_tokens.append(int(usage.get("completion_tokens", 0)))
            progress.advance(task)
    seconds = time.perf_counter() - started
    if cfg.objective.task == "classification":
        predictions = {"greedy": [parse_label(o, labels) for o in outputs]}
    else:
        predictions = {"greedy": outputs}
    result = score_candidate(ev.api_baseline_name, cfg, references, labels, outputs, predictions)
    result.is_api = True  # decoding stays "greedy" (temperature 0), the key of its per_decoding metrics
    result.seconds = result.greedy_seconds = seconds
    result.latency_ms = 1000 * seconds / max(len(prompts), 1)
    result.prompt_tokens, result.output_tokens = prompt_tokens, output_tokens
    result.efficiency = {"latency_ms": latencies, "new_tokens": output_tokens}
    result.notes.append(f"{ev.api_baseline_name}: {ev.api_baseline_model} at {client.endpoint}, sequential requests")
    return result
