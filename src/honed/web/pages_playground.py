"""The playground: chat with served models, two side by side, streamed through the workbench.

The browser talks only to the workbench (session + CSRF); the workbench forwards to the OpenAI-compatible server
with its bearer token, which therefore never reaches the page.
"""
from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from honed.web.common import checked_form, current_user, render

MAX_TOKENS = 256


def add(app: FastAPI) -> None:
    @app.get("/playground")
    async def playground(request: Request):
        current_user(request)
        models, problem = await _models(request)
        return render(request, "playground.html", models=models, problem=problem)

    @app.post("/playground/chat")
    async def chat(request: Request):
        _user, form = await checked_form(request)
        upstream = request.app.state.options.upstream
        if not upstream:
            return PlainTextResponse("no model server configured: start `honed serve MODEL`, or `honed ui --upstream "
                                     "URL`", status_code=503)
        body = {"model": form.get("model", ""), "stream": True, "max_tokens": _tokens(form.get("max_tokens")),
                "messages": [{"role": "user", "content": form.get("prompt", "")}]}
        return StreamingResponse(_relay(upstream, request.app.state.options.api_key, body),
                                 media_type="text/plain; charset=utf-8")


async def _models(request: Request) -> tuple[list[str], str | None]:
    import httpx

    options = request.app.state.options
    if not options.upstream:
        return [], "no model server configured (start `honed serve MODEL`, or `honed ui --upstream URL`)"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{options.upstream}/v1/models", headers=_auth(options.api_key))
            answer.raise_for_status()
        return [m["id"] for m in answer.json()["data"]], None
    except (httpx.HTTPError, KeyError, ValueError) as err:
        return [], f"cannot list models at {options.upstream}: {err}"


async def _relay(upstream: str, api_key: str | None, body: dict):
    """The upstream's SSE stream reduced to plain text pieces as they arrive."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10)) as client, \
                client.stream("POST", f"{upstream}/v1/chat/completions", json=body, headers=_auth(api_key)) as answer:
            if answer.status_code != 200:
                text = (await answer.aread()).decode(errors="replace")
                yield f"[error {answer.status_code}: {text[:300]}]"
                return
            async for line in answer.aiter_lines():
                piece = _piece(line)
                if piece:
                    yield piece
    except httpx.HTTPError as err:
        yield f"[error: {err}]"


def _piece(line: str) -> str:
    if not line.startswith("data: ") or line.strip() == "data: [DONE]":
        return ""
    try:
        chunk = json.loads(line[6:])
    except json.JSONDecodeError:
        return ""
    return "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])


def _auth(api_key: str | None) -> dict:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def _tokens(value) -> int:
    try:
        return max(1, min(int(value), 1024))
    except (TypeError, ValueError):
        return MAX_TOKENS
