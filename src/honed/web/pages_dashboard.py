"""The dashboard (runs, registry, drift), a run's page with its live loss curve, and the data explorer."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse

from honed.core.errors import HonedError
from honed.core.paths import honed_home
from honed.web import dashboard, explorer
from honed.web.common import checked_form, current_user, flash, form_int, open_store, render

FILE_TYPES = {"report.html": "text/html", "audit.html": "text/html", "dropped.jsonl": "text/plain"}


def add(app: FastAPI) -> None:
    @app.get("/")
    def home(request: Request):
        current_user(request)
        with open_store(request) as store:
            runs, models = dashboard.runs(store), dashboard.registry(store)
        drift = dashboard.drift_status(request.app.state.options.home or honed_home())
        return render(request, "dashboard.html", runs=runs, models=models, drift=drift)

    @app.get("/runs/{run_id}")
    def run_page(request: Request, run_id: str):
        current_user(request)
        with open_store(request) as store:
            run = store.run(run_id)
            if run is None:
                return PlainTextResponse("no such run", status_code=404)
            files = dashboard.run_files(store, run_id)
            metrics = dashboard.final_metrics(store, run_id)
            curve = dashboard.curve_svg_points(dashboard.curve_series(store, run_id))
        return render(request, "run.html", run=dict(run), files=sorted(files), metrics=metrics, curve=curve,
                      status=run["status"])

    @app.get("/runs/{run_id}/curve")
    def curve(request: Request, run_id: str):
        current_user(request)
        with open_store(request) as store:
            status = (store.run(run_id) or {"status": "unknown"})["status"]
            points = dashboard.curve_svg_points(dashboard.curve_series(store, run_id))
        return render(request, "curve.html", curve=points, status=status, run_id=run_id)

    @app.get("/runs/{run_id}/files/{name}")
    def run_file(request: Request, run_id: str, name: str):
        current_user(request)
        if name not in FILE_TYPES:
            return PlainTextResponse("unknown file", status_code=404)
        with open_store(request) as store:
            try:
                path = dashboard.run_files(store, run_id).get(name)
            except HonedError:
                path = None
        if path is None:
            return PlainTextResponse("this run has no such file", status_code=404)
        # report.html/audit.html are honed's own self-contained pages: served as files, under a strict CSP
        return FileResponse(path, media_type=FILE_TYPES[name],
                            headers={"content-security-policy": "default-src 'none'; img-src data:; "
                                     "style-src 'unsafe-inline'; sandbox"})

    @app.post("/models/promote")
    async def promote(request: Request):
        user, form = await checked_form(request, role="admin")
        from honed.registry import promote as promote_version

        with open_store(request) as store:
            _registry_action(request, lambda: promote_version(
                store, form.get("name", ""), form_int(form, "version"), form.get("alias", "production"),
                reason=f"promoted from the workbench by {user['name']}"), "promoted")
        return RedirectResponse("/#registry", status_code=303)

    @app.post("/models/rollback")
    async def rollback(request: Request):
        user, form = await checked_form(request, role="admin")
        from honed.registry import rollback as rollback_alias

        with open_store(request) as store:
            _registry_action(request, lambda: rollback_alias(
                store, form.get("name", ""), form.get("alias", "production"),
                reason=f"rolled back from the workbench by {user['name']}"), "rolled back")
        return RedirectResponse("/#registry", status_code=303)

    @app.get("/data")
    def data_index(request: Request):
        current_user(request)
        with open_store(request) as store:
            found = explorer.datasets(store)
        return render(request, "data_index.html", datasets=found)

    @app.get("/data/{hash_}")
    def data_page(request: Request, hash_: str, split: str = "train", page: int = 1, q: str = ""):
        current_user(request)
        with open_store(request) as store:
            directory = explorer.dataset_path(store, hash_)
        if directory is None or not (Path(directory) / "dataset.json").is_file():
            return PlainTextResponse("no such prepared dataset", status_code=404)
        view = explorer.explore(directory, split, page, q[:200])
        return render(request, "data.html", view=view, name=Path(directory).name)


def _registry_action(request: Request, action, verb: str) -> None:
    """Run a registry move; its outcome (or the gate's refusal, every failing metric) becomes the next flash."""
    try:
        moved = action()
        flash(request, f"{moved['name']}@{moved['alias']} {verb}: version {moved['from']} → {moved['to']}")
    except HonedError as err:
        details = "; ".join(getattr(err, "details", None) or [])
        flash(request, f"{err.problem}{': ' + details if details else ''} ({err.fix})", "error")
