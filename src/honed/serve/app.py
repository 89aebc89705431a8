"""The HTTP front: OpenAI's routes over a backend (the local batcher or a vLLM proxy), plus the request log,
feedback, /health and Prometheus /metrics.

Every error leaves in OpenAI's shape {"error": {"message", "type", "code"}} with its status (400 invalid,
401 unauthorised, 404 unknown model or id, 413 too large, 429 over capacity); none of them ends the server.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from honed.serve.backend import ApiError
from honed.serve.log import RequestLog
from honed.serve.metrics import ServeMetrics
from honed.serve.schemas import ChatRequest, CompletionRequest, Feedback, Sampling


class Gate:
    """At most `limit` requests in flight; the next one is refused (429) instead of queueing without bound."""

    def __init__(self, limit: int):
        self.limit, self.inside = limit, 0

    def enter(self) -> None:
        if self.inside >= self.limit:
            raise ApiError(429, f"{self.inside} requests in flight (limit {self.limit}); retry shortly",
                           "rate_limit_error", "too_many_requests")
        self.inside += 1

    def leave(self) -> None:
        self.inside -= 1


def create_app(backend, request_log: RequestLog, *, api_key: str | None = None, max_body_bytes: int = 1 << 20,
               max_concurrency: int = 256, follower=None) -> FastAPI:
    """`follower` (honed.serve.follow.Follower): keeps models served by a moving reference on its newest version."""
    @asynccontextmanager
    async def lifespan(_app):
        backend.start()
        following = asyncio.create_task(follower.run()) if follower is not None else None
        yield
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        await backend.close()  # uvicorn has already let in-flight requests finish
        request_log.close()

    app = FastAPI(title="honed serve", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.backend, app.state.log, app.state.gate = backend, request_log, Gate(max_concurrency)
    app.state.follower = follower
    app.state.metrics = ServeMetrics(backend)
    _add_guards(app, api_key, max_body_bytes)
    _add_error_handlers(app)
    _add_routes(app)
    return app


def _add_guards(app: FastAPI, api_key: str | None, max_body_bytes: int) -> None:
    app.add_middleware(Guard, api_key=api_key, max_body_bytes=max_body_bytes)


class Guard:
    """API key and body-size checks as plain ASGI (Starlette's BaseHTTPMiddleware would slow every stream)."""

    def __init__(self, app, api_key: str | None, max_body_bytes: int):
        self.app, self.api_key, self.max_body_bytes = app, api_key, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            error = self.refusal(Request(scope))
            if error is not None:
                return await _error(error)(scope, receive, send)
        await self.app(scope, receive, send)

    def refusal(self, request: Request) -> ApiError | None:
        if self.api_key and request.url.path.startswith("/v1/") and not _authorised(request, self.api_key):
            return ApiError(401, "missing or wrong API key (send `Authorization: Bearer KEY`)",
                            "authentication_error", "invalid_api_key")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            return ApiError(413, f"request body of {length} bytes exceeds the limit of {self.max_body_bytes}",
                            code="request_too_large")
        return None


def _authorised(request: Request, api_key: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        app.state.metrics.count(request.url.path, "-", exc.status)
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(_describe(e) for e in exc.errors()[:5])
        app.state.metrics.count(request.url.path, "-", 400)
        return _error(ApiError(400, f"invalid request: {problems}", code="invalid_request"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return _error(ApiError(exc.status_code, str(exc.detail), kind))


def _describe(error: dict) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    if error.get("type") == "json_invalid":
        return f"malformed JSON ({error.get('ctx', {}).get('error', 'cannot parse')})"
    return f"`{where or 'body'}`: {error.get('msg')}"


def _add_routes(app: FastAPI) -> None:
    state = app.state

    @app.get("/health")
    async def health():
        following = {"following": state.follower.status} if state.follower is not None else {}
        return {"status": "ok", "models": state.backend.model_names(), **state.backend.stats(), **following}

    @app.get("/metrics")
    async def metrics():
        body, content_type = state.metrics.render()
        return PlainTextResponse(body, media_type=content_type)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "honed"}
                                           for name in state.backend.model_names()]}

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest):
        return await _answer(app, "/v1/chat/completions", body, f"chatcmpl-{uuid.uuid4().hex}")

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        return await _answer(app, "/v1/completions", body, f"cmpl-{uuid.uuid4().hex}")

    @app.post("/v1/feedback")
    async def feedback(body: Feedback):
        if not await state.log.feedback(body.id, body.rating, body.correction, body.comment):
            raise ApiError(404, f"no logged request with id `{body.id}` (unknown, or not sampled into the log)",
                           "not_found_error", "request_not_found")
        return {"object": "feedback", "id": body.id, "status": "recorded"}


async def _answer(app: FastAPI, endpoint: str, body: Sampling, request_id: str):
    state = app.state
    served = state.backend.served(body.model)  # 404 before anything else: never a fallback model
    state.gate.enter()
    started = time.perf_counter()
    try:
        if body.stream:
            chunks = await state.backend.stream(body, request_id, served)
        else:
            result = await state.backend.complete(body, request_id, served)
    except BaseException:
        state.gate.leave()
        raise
    record = _Record(app, endpoint, body, request_id, served, started)
    if body.stream:
        return StreamingResponse(_sse(chunks, body.include_usage(), record), media_type="text/event-stream")
    try:
        texts = [c.get("message", {}).get("content") or c.get("text") or "" for c in result["choices"]]
        await record.finish(texts, result.get("usage") or {})
    finally:
        state.gate.leave()
    return result


class _Record:
    """What one answered request leaves behind: its log row and its metrics."""

    def __init__(self, app, endpoint, body, request_id, served, started):
        self.app, self.endpoint, self.body, self.id, self.served = app, endpoint, body, request_id, served
        self.started = started

    async def finish(self, texts: list[str], usage: dict) -> None:
        latency = time.perf_counter() - self.started
        response = texts[0] if len(texts) == 1 else json.dumps(texts)
        await self.app.state.log.record(
            self.id, endpoint=self.endpoint, request=self.body.model_dump(mode="json", exclude_none=True),
            response=response, model=self.served.model, adapter=self.served.adapter, version=self.served.version,
            latency_s=latency, prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0), sampling=self.body.sampling_settings())
        self.app.state.metrics.observe(self.endpoint, self.served.model, latency, usage)


async def _sse(chunks, include_usage: bool, record: _Record):
    texts: dict[int, str] = defaultdict(str)
    usage: dict = {}
    first = True
    try:
        async for chunk in chunks:
            if "error" in chunk:  # a failed generation: no log row of an answer, no [DONE]
                yield f"data: {json.dumps(chunk)}\n\n"
                return
            if not chunk["choices"] and "usage" in chunk:
                usage = chunk["usage"] or {}
                if not include_usage:
                    continue
            pieces = [(choice["index"], (choice.get("delta") or {}).get("content") or choice.get("text") or "")
                      for choice in chunk["choices"]]
            for index, piece in pieces:
                texts[index] += piece
            if first and any(piece for _, piece in pieces):
                record.app.state.metrics.first_token(time.perf_counter() - record.started)
                first = False
            yield f"data: {json.dumps(chunk)}\n\n"
        await record.finish([texts[i] for i in sorted(texts)], usage)
        yield "data: [DONE]\n\n"
    finally:
        record.app.state.gate.leave()
