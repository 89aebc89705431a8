"""`honed serve --engine vllm`: start `vllm serve` on the model with its LoRA adapters, and keep honed's front
(same API, request log, feedback, metrics) in front of it, forwarding requests with httpx.

vLLM must be installed separately (`pip install vllm`, on a machine with a GPU); honed never imports it.
Scaling out: `--tensor-parallel-size N` splits one model over N GPUs; for replicas, run one `honed serve
--engine vllm` per GPU group (each on its own port) behind any HTTP load balancer. See docs/serve.md.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

from honed.core.errors import HonedError
from honed.serve.backend import ApiError, Served
from honed.serve.pool import check_specs, parse_spec, unknown_model_message
from honed.serve.schemas import ChatRequest, Sampling

VLLM_DEFAULT_MAX_LORA_RANK = 16
STARTUP_TIMEOUT_S = 900  # vLLM downloads/compiles on first start


def vllm_command(model: str, served_name: str, adapters: dict[str, Path], *, host: str, port: int,
                 tensor_parallel_size: int = 1, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The exact `vllm serve` command line, as a list (never through a shell)."""
    command = ["vllm", "serve", model, "--served-model-name", served_name, "--host", host, "--port", str(port)]
    if adapters:
        command += ["--enable-lora", "--lora-modules", *(f"{name}={path}" for name, path in adapters.items())]
        rank = max(_lora_rank(path) for path in adapters.values())
        if rank > VLLM_DEFAULT_MAX_LORA_RANK:
            command += ["--max-lora-rank", str(rank)]
    if tensor_parallel_size > 1:
        command += ["--tensor-parallel-size", str(tensor_parallel_size)]
    return command + list(extra)


def _lora_rank(adapter: Path) -> int:
    return int(json.loads((adapter / "adapter_config.json").read_text()).get("r", VLLM_DEFAULT_MAX_LORA_RANK))


def plan_vllm(models: list[str], resolve=None) -> tuple[str, str, dict[str, Path]]:
    """(base model directory, its served name, {adapter name: adapter dir}) for `vllm serve`; a registry reference
    is resolved once (vLLM's adapters are fixed at its start: restart it to follow an alias)."""
    specs = [parse_spec(m, resolve) for m in models]
    check_specs(specs)
    base = specs[0].base
    if not Path(base).expanduser().is_dir() and base.count("/") != 1:
        raise HonedError(f"vLLM needs a model directory or hub id, not the honed reference `{base}`",
                         "export the run first (`honed export RUN --format merged -o OUT`) and serve OUT, or "
                         "use --engine transformers")
    base_names = [s.name for s in specs if s.adapter is None]
    return base, (base_names[0] if base_names else base), {s.name: s.adapter for s in specs if s.adapter}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_vllm(command: list[str], url: str) -> subprocess.Popen:
    if shutil.which(command[0]) is None:
        raise HonedError("`vllm` is not installed here", "install it where a GPU is available: `pip install vllm` "
                         "(or run the GPU service of compose.yaml), or use --engine transformers")
    process = subprocess.Popen(command)
    import httpx

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HonedError(f"`vllm serve` exited with code {process.returncode} while starting",
                             "read its output above; the command was: " + " ".join(command))
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(2)
    process.terminate()
    raise HonedError(f"`vllm serve` did not answer on {url} within {STARTUP_TIMEOUT_S} s", "check its output above")


class ProxyBackend:
    """Forwards validated requests to an OpenAI-compatible upstream; answers carry honed's own ids."""

    def __init__(self, upstream: str, names: list[str], sources: dict[str, str] | None = None,
                 process: subprocess.Popen | None = None, timeout_s: float = 600):
        self.upstream, self.names, self.sources = upstream.rstrip("/"), names, sources or {}
        self.process, self.timeout_s, self._client = process, timeout_s, None

    def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(base_url=self.upstream, timeout=self.timeout_s)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def model_names(self) -> list[str]:
        return list(self.names)

    def served(self, name: str) -> Served:
        if name not in self.names:
            raise ApiError(404, unknown_model_message(name, self.names), "not_found_error", "model_not_found")
        return Served(name, self.sources.get(name), None)

    def stats(self) -> dict:
        return {"upstream": self.upstream}

    def _path_and_body(self, request: Sampling, stream: bool) -> tuple[str, dict]:
        body = request.model_dump(mode="json", exclude_none=True)
        body["stream"] = stream
        if stream:
            body["stream_options"] = {"include_usage": True}  # honed logs usage even if the client did not ask
        return ("/v1/chat/completions" if isinstance(request, ChatRequest) else "/v1/completions"), body

    async def complete(self, request: Sampling, request_id: str, served: Served | None = None) -> dict:
        path, body = self._path_and_body(request, stream=False)
        response = await self._client.post(path, json=body)
        if response.status_code != 200:
            raise _upstream_error(response.status_code, response.text)
        return {**response.json(), "id": request_id}

    async def stream(self, request: Sampling, request_id: str, served: Served | None = None) -> AsyncIterator[dict]:
        path, body = self._path_and_body(request, stream=True)
        response = await self._client.send(self._client.build_request("POST", path, json=body), stream=True)
        if response.status_code != 200:
            text = (await response.aread()).decode(errors="replace")
            await response.aclose()
            raise _upstream_error(response.status_code, text)
        return _relay(response, request_id)


async def _relay(response, request_id: str) -> AsyncIterator[dict]:
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("choices") == [] and not chunk.get("usage"):
                continue
            yield {**chunk, "id": request_id}
    finally:
        await response.aclose()


def _upstream_error(status: int, text: str) -> ApiError:
    try:
        error = json.loads(text)["error"]
        return ApiError(status, error.get("message", text), error.get("type", "upstream_error"), error.get("code"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(502 if status < 400 else status, f"upstream answered {status}: {text[:300]}", "upstream_error")


def build_vllm_backend(options) -> ProxyBackend:
    base, base_name, adapters = plan_vllm(options.models, options.resolve)
    names = [base_name, *adapters]
    sources = {base_name: base, **{n: str(p) for n, p in adapters.items()}}
    if options.upstream:
        return ProxyBackend(options.upstream, names, sources)
    port = options.vllm_port or free_port()
    command = vllm_command(base, base_name, adapters, host="127.0.0.1", port=port,
                           tensor_parallel_size=options.tensor_parallel_size, extra=options.vllm_args)
    url = f"http://127.0.0.1:{port}"
    return ProxyBackend(url, names, sources, start_vllm(command, url))
