"""Log in and out."""
from __future__ import annotations

from urllib.parse import urlparse

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from honed.web import auth
from honed.web.common import Forbidden, open_store, render


def add(app: FastAPI) -> None:
    @app.get("/login")
    def login_page(request: Request, next: str = "/"):
        return render(request, "login.html", next=_local(next), error=None)

    @app.post("/login")
    async def login(request: Request):
        form = dict(await request.form())
        if not auth.csrf_valid(request.session, form.get("csrf")):
            raise Forbidden("missing or stale form token (CSRF): reload the login page")
        with open_store(request) as store:
            role = auth.authenticate(store, form.get("name", ""), form.get("password", ""))
        if role is None:
            return render(request, "login.html", next=_local(form.get("next", "/")), error="wrong name or password")
        request.session.clear()  # a fresh session (and CSRF token) after login: no fixation
        request.session["user"] = {"name": form["name"], "role": role}
        return RedirectResponse(_local(form.get("next", "/")), status_code=303)

    @app.post("/logout")
    async def logout(request: Request):
        form = dict(await request.form())
        if auth.csrf_valid(request.session, form.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)


def _local(target: str) -> str:
    """Only same-site paths after login (no open redirect)."""
    parsed = urlparse(target or "/")
    return target if target.startswith("/") and not target.startswith("//") and not parsed.netloc else "/"
