"""What every page shares: the store per request, the logged-in user, the CSRF-checked form, rendering."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from honed.core.store import Store
from honed.web import auth


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str):
        self.message = message


def open_store(request: Request) -> Store:
    return Store(request.app.state.options.db)


def current_user(request: Request, role: str | None = None) -> dict:
    user = request.session.get("user")
    if not user:
        raise LoginRequired()
    if role == "admin" and user.get("role") != "admin":
        raise Forbidden("admins only: ask an admin, or use `honed models promote` from the command line")
    return user


async def checked_form(request: Request, role: str | None = None) -> tuple[dict, dict]:
    """The logged-in user and the form, after the CSRF check (403 on a missing or wrong token)."""
    user = current_user(request, role)
    form = dict(await request.form())
    if not auth.csrf_valid(request.session, form.get("csrf") or request.headers.get("x-csrf-token")):
        raise Forbidden("missing or stale form token (CSRF): reload the page and try again")
    return user, form


def render(request: Request, template_name: str, **context) -> HTMLResponse:
    template = request.app.state.env.get_template(template_name)
    user = request.session.get("user")
    csrf = auth.csrf_token(request.session)
    flash = request.session.pop("flash", None)
    return HTMLResponse(template.render(request=request, user=user, csrf=csrf, flash=flash, **context))


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def form_int(form: dict, key: str, default: int = 0) -> int:
    """An integer form field; a clear 400 (HonedError) instead of a crash when it is not one."""
    from honed.core.errors import HonedError

    value = form.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HonedError(f"`{key}` must be a whole number, got `{str(value)[:40]}`", "reload the page") from None
