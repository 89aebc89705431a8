"""`honed serve`: the parser and its handler. FastAPI, torch and uvicorn are imported only when it runs."""
from __future__ import annotations

from pathlib import Path


def run_serve(args) -> int:
    from honed.registry import serving_resolver
    from honed.serve.server import ServeOptions, run

    options = ServeOptions(
        models=args.models, host=args.host, port=args.port, api_key_env=args.api_key_env, engine=args.engine,
        max_batch=args.max_batch, max_waiting=args.max_waiting, max_concurrency=args.max_concurrency,
        max_body_bytes=args.max_body_bytes, log_sample_rate=args.log_sample_rate, redact=not args.no_redact,
        db=Path(args.db) if args.db else None, tensor_parallel_size=args.tensor_parallel_size,
        vllm_port=args.vllm_port, upstream=args.upstream, resolve=serving_resolver(args.db),
        follow_interval=args.follow_interval)
    if args.no_ui:
        run(options)
        return 0
    _run_with_workbench(options)
    return 0


def _run_with_workbench(options) -> None:
    """The server of `run`, with the workbench mounted at `/` (after the API's own routes, which win)."""
    import uvicorn

    from honed.serve.server import GRACEFUL_SHUTDOWN_S, build_app
    from honed.web.mount import mount_workbench

    app = build_app(options)
    mount_workbench(app, options)
    names = ", ".join(app.state.backend.model_names())
    print(f"serving {names} at http://{options.host}:{options.port}/v1 (engine: {options.engine}); "
          f"workbench at http://{options.host}:{options.port}/")
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


def register(verbs) -> None:
    serve = verbs.add_parser("serve", help="OpenAI-compatible server for a model, an export or trained adapters",
                             description="Serve MODEL… behind /v1/chat/completions, /v1/completions, /v1/models, "
                             "/v1/feedback, /health and /metrics. MODEL is tiny-random, smollm2-135m-instruct, a "
                             "HF directory (e.g. a merged export), run directories whose adapters share one base, "
                             "or registered versions: NAME:VERSION, and NAME@ALIAS, which is followed (when the "
                             "alias moves, the new version swaps in without dropping a request). NAME=MODEL names "
                             "one; clients choose by the `model` field.")
    serve.add_argument("models", nargs="+", metavar="MODEL")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--api-key-env", metavar="VAR", help="require `Authorization: Bearer $VAR` on /v1/*")
    serve.add_argument("--engine", choices=("transformers", "vllm"), default="transformers",
                       help="transformers: honed's own continuous batcher; vllm: start `vllm serve` and proxy to it")
    serve.add_argument("--max-batch", type=int, default=32, metavar="N", help="sequences decoded together")
    serve.add_argument("--max-waiting", type=int, default=256, metavar="N",
                       help="sequences allowed to wait for a batch slot; beyond it requests get 429")
    serve.add_argument("--max-concurrency", type=int, default=256, metavar="N",
                       help="requests in flight; beyond it requests get 429")
    serve.add_argument("--max-body-bytes", type=int, default=1 << 20, metavar="B", help="larger bodies get 413")
    serve.add_argument("--log-sample-rate", type=float, default=1.0, metavar="F",
                       help="share of requests written to the request log (default 1: all)")
    serve.add_argument("--no-redact", action="store_true", help="log prompts and responses without PII redaction")
    serve.add_argument("--db", metavar="PATH", help="store for the request log (default $HONED_HOME/honed.db)")
    serve.add_argument("--tensor-parallel-size", type=int, default=1, metavar="N",
                       help="vllm: GPUs one model is split over")
    serve.add_argument("--vllm-port", type=int, metavar="PORT", help="vllm: its own port (default: a free one)")
    serve.add_argument("--upstream", metavar="URL",
                       help="vllm: proxy to this already running OpenAI-compatible server instead of starting one")
    serve.add_argument("--follow-interval", type=float, default=5.0, metavar="SECONDS",
                       help="how often a NAME@ALIAS model checks whether its alias moved (default 5; 0: never)")
    serve.add_argument("--no-ui", action="store_true", help="do not mount the web workbench at `/`")
    serve.set_defaults(handler="honed.cli.serve:run_serve")
