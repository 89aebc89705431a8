"""The workbench's FastAPI app: pages rendered by Jinja2 (autoescape on), forms guarded by a session-bound CSRF
token, every page behind a login, promote/rollback for admins only."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware

from honed.core.errors import HonedError
from honed.core.paths import honed_home
from honed.web import auth, routes
from honed.web.common import Forbidden, LoginRequired

HERE = Path(__file__).parent


@dataclass
class WorkbenchOptions:
    db: Path | None = None
    home: Path | None = None
    upstream: str | None = None  # an OpenAI-compatible server for the playground (honed serve)
    api_key: str | None = None  # its bearer token, kept server-side
    secure_cookies: bool = False


def create_workbench(options: WorkbenchOptions | None = None) -> FastAPI:
    options = options or WorkbenchOptions()
    home = options.home or honed_home()
    app = FastAPI(title="honed workbench", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.options = options
    app.state.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                                autoescape=select_autoescape(default=True, default_for_string=True))
    app.add_middleware(SessionMiddleware, secret_key=auth.session_secret(home), session_cookie="honed_session",
                       same_site="strict", https_only=options.secure_cookies, max_age=12 * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_handlers(app)
    routes.add_routes(app)
    return app


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired):
        if request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return PlainTextResponse("log in first", status_code=401)

    @app.exception_handler(HonedError)
    async def bad_input(_request: Request, exc: HonedError):
        return PlainTextResponse(f"{exc.problem}" + (f" ({exc.fix})" if exc.fix else ""), status_code=400)

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden):
        return PlainTextResponse(exc.message, status_code=403)
