"""The workbench's pages and form handlers (access, review, results, exports, dashboard, data, playground)."""
from __future__ import annotations

from fastapi import FastAPI

from honed.web import pages_access, pages_dashboard, pages_playground, pages_review


def add_routes(app: FastAPI) -> None:
    for module in (pages_access, pages_review, pages_dashboard, pages_playground):
        module.add(app)
