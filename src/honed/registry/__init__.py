"""The model registry: every trained run is a numbered version of its project's model; aliases
(`production`, `staging`, …) point at versions and move only through a gate (or a recorded `--force`).

References: `NAME@ALIAS` and `NAME:VERSION` resolve to the version's run directory, so any verb that takes a run
directory takes them too. The SQL lives in honed.core.store; this module holds the rules.
"""
from __future__ import annotations

from honed.registry.models import (  # noqa: F401
    PromotionRefused,
    list_models,
    promote,
    register_run,
    rollback,
    show_model,
    stage,
    version_row,
)
from honed.registry.references import (  # noqa: F401
    is_reference,
    parse_reference,
    resolve_reference,
    resolve_report,
    resolve_version,
    serving_resolver,
)
