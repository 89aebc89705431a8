"""`honed ui`: the workbench alone, plus its chores (accounts, battle import, exports). FastAPI is imported only
when it runs."""
from __future__ import annotations

import getpass
import os
from pathlib import Path

from honed.core.errors import HonedError

PASSWORD_ENV = "HONED_UI_PASSWORD"


def run_ui(args) -> int:
    from honed.core.store import Store

    db = Path(args.db) if args.db else None
    chores = args.add_user or args.battles or args.label_studio or args.export or args.generate
    if args.add_user:
        _add_user(db, args.add_user, args.role)
    with Store(db) as store:
        if args.battles:
            from honed.web.battles import import_battles

            print(f"imported {import_battles(store, Path(args.battles), seed=args.seed)} battles from {args.battles}")
        if args.label_studio:
            from honed.web.exports import import_label_studio

            count = import_label_studio(store, Path(args.label_studio), seed=args.seed)
            print(f"imported {count} Label Studio tasks from {args.label_studio}")
        if args.generate:
            _generate(store, args)
        if args.export:
            _export(store, Path(args.export))
    if chores:
        return 0
    return _serve(args, db)


def _add_user(db: Path | None, name: str, role: str) -> None:
    from honed.core.store import Store
    from honed.web.auth import add_user

    password = os.environ.get(PASSWORD_ENV)
    if not password:
        if not os.isatty(0):
            raise HonedError(f"no password for `{name}`", f"set {PASSWORD_ENV}, or run in a terminal to be prompted")
        password = getpass.getpass(f"password for {name}: ")
        if password != getpass.getpass("again: "):
            raise HonedError("the two passwords differ", "run the command again")
    with Store(db) as store:
        add_user(store, name, password, role)
    print(f"account `{name}` ({role}) saved")


def _generate(store, args) -> None:
    import httpx

    from honed.web.generate import generate_battles, read_prompts

    models = tuple(m.strip() for m in (args.models or "").split(",") if m.strip())
    if len(models) != 2 or not args.upstream:
        raise HonedError("--generate needs --models A,B (two names) and --upstream URL",
                         "e.g. honed ui --generate prompts.txt --models base,tuned --upstream http://127.0.0.1:8000")
    key = _api_key(args)
    headers = {"authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=args.upstream.rstrip("/"), headers=headers, timeout=300) as client:
        count = generate_battles(store, client, read_prompts(Path(args.generate)), models, seed=args.seed)
    print(f"generated {count} battles ({models[0]} vs {models[1]})")


def _api_key(args) -> str | None:
    if not args.api_key_env:
        return None
    key = os.environ.get(args.api_key_env) or None
    if key is None:
        raise HonedError(f"--api-key-env names `{args.api_key_env}`, which is not set or empty",
                         f"export {args.api_key_env}=... first, or drop --api-key-env")
    return key


def _export(store, directory: Path) -> None:
    import json

    from honed.core.io import atomic_write_text
    from honed.web.exports import label_studio_tasks, preference_pairs, sft_rows, write_jsonl

    directory.mkdir(parents=True, exist_ok=True)
    votes, scored = store.votes(), store.expert_ratings()
    pairs = write_jsonl(directory / "preferences.jsonl", preference_pairs(votes, scored))
    sft = write_jsonl(directory / "sft.jsonl", sft_rows(votes, scored))
    atomic_write_text(directory / "label-studio.json", json.dumps(label_studio_tasks(store), ensure_ascii=False))
    print(f"preference pairs: {pairs} · SFT rows: {sft} · Label Studio: {directory / 'label-studio.json'}")
    print(directory)


def _serve(args, db: Path | None) -> int:
    import uvicorn

    from honed.web.app import WorkbenchOptions, create_workbench

    api_key = _api_key(args)
    app = create_workbench(WorkbenchOptions(db=db, upstream=args.upstream.rstrip("/") if args.upstream else None,
                                            api_key=api_key))
    print(f"workbench at http://{args.host}:{args.port}/ (accounts: honed ui --add-user NAME --role reviewer)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def register(verbs) -> None:
    ui = verbs.add_parser("ui", help="the web workbench: dashboard, data explorer, blind A/B review, playground",
                          description="Serve the workbench (or, with --add-user/--battles/--label-studio/--export, "
                          "do that chore and exit). `honed serve` mounts the same workbench at `/`.")
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=8080)
    ui.add_argument("--db", metavar="PATH", help="the store (default $HONED_HOME/honed.db)")
    ui.add_argument("--upstream", metavar="URL", help="an OpenAI-compatible server for the playground "
                    "(e.g. http://127.0.0.1:8000 from `honed serve`)")
    ui.add_argument("--api-key-env", metavar="VAR", help="the upstream's bearer token, read from $VAR")
    ui.add_argument("--add-user", metavar="NAME", help=f"create or update an account (password from ${PASSWORD_ENV} "
                    "or a prompt, never the command line)")
    ui.add_argument("--role", choices=("reviewer", "admin"), default="reviewer")
    ui.add_argument("--battles", metavar="FILE", help='import JSONL battles {"prompt", "answers": {MODEL: TEXT, '
                    'MODEL: TEXT}}')
    ui.add_argument("--label-studio", metavar="FILE", help="import Label Studio tasks (pairwise template)")
    ui.add_argument("--generate", metavar="PROMPTS", help="make battles by asking --models A,B at --upstream "
                    "every prompt of this file (one a line)")
    ui.add_argument("--models", metavar="A,B", help="the two served models (or adapters) for --generate")
    ui.add_argument("--export", metavar="DIR", help="write preferences.jsonl, sft.jsonl and label-studio.json")
    ui.add_argument("--seed", type=int, default=0, help="seed of the left/right assignment of imported battles")
    ui.set_defaults(handler="honed.cli.web:run_ui")
