"""Assemble and run a server from the CLI's options: the backend (local batcher or vLLM), the log, the app."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError

GRACEFUL_SHUTDOWN_S = 60  # in-flight requests get this long to finish after SIGTERM / Ctrl-C


@dataclass
class ServeOptions:
    models: list[str]
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_env: str | None = None
    engine: str = "transformers"
    max_batch: int = 32
    max_waiting: int = 256
    max_concurrency: int = 256
    max_body_bytes: int = 1 << 20
    log_sample_rate: float = 1.0
    redact: bool = True
    db: Path | None = None
    tensor_parallel_size: int = 1
    vllm_port: int | None = None
    upstream: str | None = None  # an already running vLLM (or any OpenAI-compatible) server
    vllm_args: list[str] = field(default_factory=list)
    # target → (run dir, version label, may move) for references serve cannot read itself (honed.serve.pool.Resolver)
    resolve: Callable | None = None
    follow_interval: float = 5.0  # seconds between checks of a followed reference; 0: resolve once at start


def api_key(options: ServeOptions) -> str | None:
    if not options.api_key_env:
        return None
    key = os.environ.get(options.api_key_env, "")
    if not key:
        raise HonedError(f"--api-key-env names `{options.api_key_env}`, which is not set or empty",
                         f"export {options.api_key_env}=... before starting the server, or drop --api-key-env")
    return key


def build_backend(options: ServeOptions):
    if options.engine == "vllm":
        from honed.serve.vllm import build_vllm_backend

        return build_vllm_backend(options)
    from honed.serve.backend import LocalBackend
    from honed.serve.pool import load_pool

    return LocalBackend(load_pool(options.models, options.resolve), max_batch=options.max_batch,
                        max_waiting=options.max_waiting)


def build_follower(options: ServeOptions, backend):
    """A Follower when some model is served by a reference that may move (and the backend can swap)."""
    if options.resolve is None or options.follow_interval <= 0 or not hasattr(backend, "followed"):
        return None
    if not backend.followed():
        return None
    from honed.serve.follow import Follower

    return Follower(backend, options.resolve, options.follow_interval)


def build_app(options: ServeOptions, backend=None):
    from honed.serve.app import create_app
    from honed.serve.log import RequestLog

    if not 0 <= options.log_sample_rate <= 1:
        raise HonedError(f"--log-sample-rate must be within [0, 1], got {options.log_sample_rate}",
                         "pass e.g. --log-sample-rate 0.1 to log one request in ten")
    if options.follow_interval < 0:
        raise HonedError(f"--follow-interval must be ≥ 0 seconds, got {options.follow_interval}",
                         "pass e.g. --follow-interval 5 (0 resolves an alias once, at start)")
    key = api_key(options)
    backend = backend or build_backend(options)
    request_log = RequestLog(options.db, sample_rate=options.log_sample_rate, redact=options.redact)
    return create_app(backend, request_log, api_key=key, max_body_bytes=options.max_body_bytes,
                      max_concurrency=options.max_concurrency, follower=build_follower(options, backend))


def run(options: ServeOptions, announce=print) -> None:
    import uvicorn

    app = build_app(options)
    names = ", ".join(app.state.backend.model_names())
    announce(f"serving {names} at http://{options.host}:{options.port}/v1 (engine: {options.engine})")
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
