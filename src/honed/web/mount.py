"""`honed serve` mounts the workbench at `/`: its playground talks back to the same server's /v1."""
from __future__ import annotations

from fastapi import FastAPI

from honed.web.app import WorkbenchOptions, create_workbench

ANY_ADDRESS = ("0.0.0.0", "::", "")


def mount_workbench(app: FastAPI, options) -> FastAPI:
    """Mount on a built serve app; `options` is the server's ServeOptions (db, host, port, api key)."""
    from honed.serve.server import api_key

    host = "127.0.0.1" if options.host in ANY_ADDRESS else options.host
    host = f"[{host}]" if ":" in host else host
    workbench = create_workbench(WorkbenchOptions(db=options.db, upstream=f"http://{host}:{options.port}",
                                                  api_key=api_key(options)))
    app.mount("/", workbench)
    return app
