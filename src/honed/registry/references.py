"""`NAME@ALIAS` and `NAME:VERSION`: registry references, resolved to a version and its run directory."""
from __future__ import annotations

import re
from pathlib import Path

from honed.core.errors import HonedError, did_you_mean
from honed.core.store import Store

_REFERENCE = re.compile(r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:@(?P<alias>[A-Za-z][\w.-]*)|:(?P<version>\d+))$")


def parse_reference(ref: str) -> tuple[str, str | None, int | None] | None:
    """(name, alias, version) for `NAME@ALIAS` / `NAME:VERSION`; None for anything else (a path, a model id)."""
    match = _REFERENCE.match(ref.strip())
    if not match:
        return None
    version = match["version"]
    return match["name"], match["alias"], int(version) if version else None


def is_reference(ref: str) -> bool:
    """A registry reference, and not an existing path that happens to look like one."""
    return parse_reference(str(ref)) is not None and not Path(ref).exists()


def resolve_version(ref: str, store: Store | None = None):
    """The store row of the version `ref` names; a HonedError naming what exists when it names nothing."""
    parsed = parse_reference(ref)
    if parsed is None:
        raise HonedError(f"`{ref}` is not a registry reference", "write NAME@ALIAS (e.g. tiny@production) or "
                         "NAME:VERSION (e.g. tiny:3)")
    name, alias, version = parsed
    own = store is None
    store = store or Store()
    try:
        if not store.model_versions(name):
            known = sorted({r["name"] for r in store.model_versions()})
            raise HonedError(f"no model named `{name}` in the registry{did_you_mean(name, known)}",
                             f"models: {', '.join(known) or 'none yet'} (every `honed run`/`honed train` registers "
                             "one under the config's `project`)")
        if alias is not None:
            aliases = store.aliases(name)
            if alias not in aliases:
                raise HonedError(f"model `{name}` has no alias `{alias}`{did_you_mean(alias, list(aliases))}",
                                 f"aliases: {', '.join(aliases) or 'none'}; set one with "
                                 f"`honed models promote {name} VERSION --alias {alias}`")
            version = aliases[alias]
        row = store.model_version(name, version)
        if row is None:
            raise HonedError(f"model `{name}` has no version {version}",
                             f"`honed models show {name}` lists its versions")
        return row
    finally:
        if own:
            store.close()


def resolve_reference(ref: str | Path) -> Path:
    """A run directory for `ref`: registry references resolve through the store, anything else is a path."""
    if not is_reference(str(ref)):
        return Path(ref)
    return _run_dir_of(resolve_version(str(ref)), str(ref))


def _run_dir_of(row, ref: str) -> Path:
    path = Path(row["run_dir"])
    if not path.is_dir():
        raise HonedError(f"`{ref}` is version {row['version']}, whose run directory `{path}` no longer exists",
                         "restore the directory, or promote another version to this alias")
    return path


def serving_resolver(store_path: Path | str | None = None):
    """For `honed serve` (honed.serve.pool.Resolver): a registry reference → (run directory, "NAME:VERSION",
    whether it may move: an alias does, a version number does not); anything else → None (a path, a model id).
    Every call reads the store afresh: the server calls it again to notice that an alias moved."""
    def resolve(target: str) -> tuple[Path, str, bool] | None:
        parsed = parse_reference(target)
        if parsed is None or Path(target).exists():
            return None
        with Store(store_path) as store:
            row = resolve_version(target, store)
        return _run_dir_of(row, target), f"{row['name']}:{row['version']}", parsed[1] is not None

    return resolve


def resolve_report(ref: str) -> Path:
    """The report.json of the version `ref` names (`honed gate CANDIDATE --against NAME@production`)."""
    row = resolve_version(ref)
    concrete = f"{row['name']}:{row['version']}"
    hint = f"evaluate it: honed eval CONFIG --run {concrete}"
    if not row["report_path"]:
        raise HonedError(f"`{ref}` is version {concrete}, which has no report yet", hint)
    path = Path(row["report_path"])
    if not path.is_file():
        raise HonedError(f"`{ref}` is version {concrete}, whose report `{path}` no longer exists", hint)
    return path
