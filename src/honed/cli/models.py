"""`honed models list|show|promote|rollback`: the registry's verbs. The rules live in honed.registry."""
from __future__ import annotations

import json

from honed.core.progress import console


def run_models_list(args) -> int:
    from honed.core.store import Store
    from honed.registry import list_models

    with Store() as store:
        models = list_models(store)
    rows = [{k: m[k] for k in ("name", "version", "run", "created", "aliases", "metrics", "kind", "parent")}
            for m in models]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models registered yet (every `honed run` and `honed train` registers one)")
    for m in rows:
        primary = next(iter(m["metrics"].items()), None)
        figure = f"{primary[0]}={primary[1]:.4f}" if primary else "not evaluated"
        console.print(f"{m['name']}:{m['version']:<4} {m['kind']:<8} {m['created']}  {figure:<22} "
                      f"{' '.join('@' + a for a in m['aliases'])}", highlight=False)
    return 0


def run_models_show(args) -> int:
    from honed.core.store import Store
    from honed.registry import show_model

    with Store() as store:
        shown = show_model(store, args.name)
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for v in shown["versions"]:
        console.print(f"{shown['name']}:{v['version']:<4} {v['kind']:<8} {v['created']} run {v['run']} "
                      f"parent {v['parent'] or '-'}", highlight=False)
    for alias, held in shown["aliases"].items():
        print(f"@{alias} → version {held['version']}")
    for h in shown["history"]:
        forced = " (forced)" if h["forced"] else ""
        print(f"{h['when']} {h['who']}: @{h['alias']} {h['from']} → {h['to']} {h['action']}{forced}: {h['reason']}")
    return 0


def run_models_promote(args) -> int:
    from honed.core.store import Store
    from honed.registry import promote

    with Store() as store:
        moved = promote(store, args.name, args.version, args.alias, force=args.force, reason=args.reason or "",
                        tolerance=args.tolerance)
    for failure in moved["failures"]:
        print(f"FORCED past: {failure}")
    print(f"{args.name}@{args.alias}: {moved['from'] if moved['from'] is not None else '(none)'} → {moved['to']}"
          f"{' (forced)' if moved['forced'] else ''}")
    return 0


def run_models_rollback(args) -> int:
    from honed.core.store import Store
    from honed.registry import rollback

    with Store() as store:
        moved = rollback(store, args.name, args.alias, reason=args.reason or "")
    print(f"{args.name}@{args.alias}: {moved['from']} → {moved['to']} (rolled back)")
    return 0


def register(verbs) -> None:
    models = verbs.add_parser("models", help="the model registry: versions, aliases, gated promote and rollback")
    sub = models.add_subparsers(dest="models_verb", metavar="VERB")

    listing = sub.add_parser("list", help="every registered version with its aliases and metrics")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler="honed.cli.models:run_models_list")

    show = sub.add_parser("show", help="one model: versions, aliases, alias history")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler="honed.cli.models:run_models_show")

    prom = sub.add_parser("promote", help="move an alias to a version after the gate passes against its holder",
                          description="Gate VERSION's report against the report of the alias's current holder; "
                                      "exit 1 naming each failing metric unless it passes or --force is given.")
    prom.add_argument("name", metavar="NAME")
    prom.add_argument("version", type=int, metavar="VERSION")
    prom.add_argument("--alias", required=True, help="e.g. production, staging")
    prom.add_argument("--force", action="store_true", help="move even if the gate fails (recorded as forced)")
    prom.add_argument("--reason", metavar="TEXT", help="why (kept in the alias history)")
    prom.add_argument("--tolerance", type=float, help="allowed drop per metric (default: the report's, else 0.01)")
    prom.set_defaults(handler="honed.cli.models:run_models_promote")

    back = sub.add_parser("rollback", help="send an alias back to its previous holder")
    back.add_argument("name", metavar="NAME")
    back.add_argument("--alias", required=True)
    back.add_argument("--reason", metavar="TEXT", help="why (kept in the alias history)")
    back.set_defaults(handler="honed.cli.models:run_models_rollback")
