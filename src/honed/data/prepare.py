"""`honed data prepare CONFIG`: files in → validated canonical records → curated, leak-free splits out.

The pipeline reads top to bottom: read → validate → labels → clean → redact PII → deduplicate (exact + near,
near-duplicate groups) → contamination check → split → write (+ audit, + store). Each step returns the records
it keeps and the ones it drops, each drop with a reason; every drop lands in `dropped.jsonl`. Nothing vanishes:
rows read = rows kept in the splits + rows dropped.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError
from honed.core.prepared import SPLITS, PreparedData
from honed.core.records import Drop, class_label
from honed.data.check import WARNING_CODES, record_problems
from honed.data.formats import (
    MISSING_LABEL,
    RowError,
    content_key,
    iter_rows,
    map_record_text,
    to_record,
    unlabelled_text,
)
from honed.data.split import split_records

log = logging.getLogger(__name__)
MIN_ROWS = 10



@dataclass
class Curation:
    """What the steps found, for the audit."""
    steps: list[dict] = field(default_factory=list)   # [{"step", "rows", "seconds"}]
    pii: Counter = field(default_factory=Counter)
    cleaning: Counter = field(default_factory=Counter)  # rows rewritten by normalisation / that lost HTML
    duplicates: dict = field(default_factory=dict)
    contamination: dict = field(default_factory=dict)
    engine: str = "local"  # who ran the steps: "local", or "ray (N CPUs)"


def load_records(cfg: Config, files: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """Read the configured training files (or `files`); return (records, dropped rows with reasons)."""
    files = cfg.data.train if files is None else files
    if not files:
        raise HonedError("no training data configured", "set `data.train` in honed.yaml to one or more files")
    records, dropped = [], []
    for name in files:
        path = cfg.resolve(name)
        kept, lost = _read_file(cfg, path)
        records += kept
        dropped += lost
    return records, dropped


def _read_file(cfg: Config, path: Path) -> tuple[list[dict], list[dict]]:
    """One file's records (each with meta.source/line) and its unreadable rows, each with its reason."""
    records, dropped = [], []
    for line, row in iter_rows(path):
        record, drop = read_row(cfg, path, line, row)
        if drop is not None:
            dropped.append(drop)
        else:
            records.append(record)
    missing = set(unlabelled_text(records))
    dropped += [missing_label_drop(records[i]) for i in sorted(missing)]
    return [r for i, r in enumerate(records) if i not in missing], dropped


def read_row(cfg: Config, path: Path, line: int, row: object) -> tuple[dict | None, dict | None]:
    """(record with meta.source/line, None), or (None, its drop) for a row that is not a record."""
    labelled = bool(cfg.objective.labels) or cfg.data.format == "classification"
    try:
        record = to_record(row, cfg.data.format, instruction=cfg.data.instruction, labelled=labelled,
                           text_column=cfg.data.text_column, label_column=cfg.data.label_column)
    except RowError as exc:
        return None, _drop(row, exc.code, str(exc), "read", path, line)
    record["meta"] = {**record.get("meta", {}), "source": str(path), "line": line}
    return record, None


def missing_label_drop(record: dict) -> dict:
    return _drop(record, "missing_label", MISSING_LABEL, "read")


def validate_records(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Drop conversations with no assistant message or an empty last answer (nothing to learn from)."""
    kept, dropped = [], []
    for record in records:
        problems = [p for p in record_problems(record, None) if p["code"] not in WARNING_CODES]
        if problems:
            dropped.append(_drop(record, problems[0]["code"], problems[0]["message"], "validate"))
        else:
            kept.append(record)
    return kept, dropped


def check_labels(records: list[dict], labels: list[str], on_unknown: str = "drop") -> tuple[list[dict], list[dict]]:
    """Drop rows whose label is outside the configured label set (when one is configured)."""
    if not labels:
        return records, []
    allowed = set(labels)
    # Only classification conversations carry a class label (a KTO row's boolean label is not one).
    unknown_ids = {id(r) for r in records if class_label(r) is not None and class_label(r) not in allowed}
    kept = [r for r in records if id(r) not in unknown_ids]
    unknown = [r for r in records if id(r) in unknown_ids]
    if unknown and on_unknown == "error":
        found = sorted({str(r["label"]) for r in unknown})
        where = ", ".join(f"{r['meta'].get('source', '?')}:{r['meta'].get('line', '?')}" for r in unknown[:5])
        raise HonedError(
            f"{len(unknown)} row(s) have a label outside objective.labels: {', '.join(map(repr, found[:10]))} "
            f"(first at {where})",
            "add the label(s) to `objective.labels`, fix those rows, or set `data.unknown_labels: drop` to set "
            "them aside in dropped.jsonl")
    dropped = [_drop(r, "label_not_in_set", f"{r['label']!r} is not one of the configured labels", "labels")
               for r in unknown]
    return kept, dropped


def clean_step(records: list[dict], cfg: Config, changes: Counter | None = None) -> tuple[list[dict], list[dict]]:
    from honed.data.clean import CleanOptions, clean_records

    kept, lost = clean_records(records, CleanOptions.from_config(cfg.data), changes)
    return kept, [_drop(r, code, detail, "clean") for r, (code, detail) in lost]


def redact_step(records: list[dict], cfg: Config, counts: Counter, progress=None) -> list[dict]:
    """Replace PII by typed placeholders in every content string; `counts` gathers the types found;
    `progress(n)` is told of every `PROGRESS_EVERY` rows done."""
    if not cfg.data.redact_pii:
        return records
    from honed.data.pii import Redactor

    redactor = Redactor(public_ips_only=cfg.data.pii_public_ips_only, ner=cfg.data.pii_ner,
                        phone_region=cfg.data.pii_phone_region)

    def redact(text: str) -> str:
        text, found = redactor.redact(text)
        if found:
            counts.update(found)
        return text

    redacted = []
    for count, record in enumerate(records, start=1):
        redacted.append(map_record_text(record, redact))
        if progress and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    return redacted


PROGRESS_EVERY = 1000  # rows between progress-bar updates (an update per row would cost more than a row)


def dedup_step(records: list[dict], cfg: Config, found: dict, result=None,
               progress=None) -> tuple[list[dict], list[dict]]:
    """Exact and near duplicates dropped (reason names the kept row); near-duplicate groups set `meta.group`.
    `result`: a DedupResult computed elsewhere (the Ray engine), else found here; `progress(n)` as rows are
    signed (MinHash, the slow part)."""
    from honed.data.dedup import find_duplicates

    if result is None:
        result = find_duplicates([content_key(r) for r in records], cfg.data.dedup_threshold, cfg.data.near_dedup,
                                 cfg.data.group_threshold if cfg.data.near_dedup else None, seed=cfg.data.split.seed,
                                 progress=progress)
    dropped = []
    for dup in result.duplicates:
        kept = records[dup.of]["meta"]
        what = "exact_duplicate" if dup.kind == "exact" else "near_duplicate"
        dropped.append(_drop(records[dup.index], what, f"Jaccard {dup.similarity:.2f} with {kept['source']} line "
                                                       f"{kept['line']}", "dedup"))
    for index, group in result.groups.items():
        records[index]["meta"]["group"] = f"near-{group}"
    found.update(exact=result.exact, near=result.near, groups=len(set(result.groups.values())),
                 grouped_rows=len(result.groups), candidate_pairs=result.candidate_pairs,
                 threshold=cfg.data.dedup_threshold, group_threshold=cfg.data.group_threshold)
    return [records[i] for i in result.kept], dropped


def contamination_step(records: list[dict], references: list[dict], cfg: Config, found: dict, hits=None):
    """Drop rows that (near-)duplicate an evaluation row: the given test/validation files and data.contamination.
    `hits`: {row: (reference, Jaccard)} computed elsewhere (the Ray engine), else found here."""
    if not references:
        return records, []
    from honed.data.dedup import find_overlap

    if hits is None:
        hits = find_overlap([content_key(r) for r in records], [content_key(r) for r in references],
                            cfg.data.dedup_threshold, seed=cfg.data.split.seed)
    dropped = []
    for index, (ref, score) in sorted(hits.items()):
        meta = references[ref]["meta"]
        dropped.append(_drop(records[index], "contamination", f"Jaccard {score:.2f} with evaluation row "
                                                              f"{meta['source']} line {meta['line']}", "contamination"))
    found.update(checked_against=len(references), dropped=len(hits))
    return [r for i, r in enumerate(records) if i not in hits], dropped


def curate(records: list[dict], cfg: Config, info: Curation, stage: str = "",
           bars=None) -> tuple[list[dict], list[dict]]:
    """The row-level steps shared by training data and given evaluation files. `bars` (StepBars): PII, the slow
    row step, advances a progress bar."""
    dropped: list[dict] = []
    steps = (("validate", validate_records),
             ("labels", lambda r: check_labels(r, cfg.objective.labels, cfg.data.unknown_labels)),
             ("clean", lambda r: clean_step(r, cfg, info.cleaning)),
             ("pii", lambda r: (redact_step(r, cfg, info.pii, bars.start("PII", len(r)) if bars else None), [])))
    for name, step in steps:
        clock = time.perf_counter()
        records, lost = step(records)
        dropped += lost
        if not stage:
            _step_done(info, name, len(records), clock)
    return records, dropped


def run_prepare(cfg: Config, out_dir: Path, engine: str | None = None, address: str | None = None) -> PreparedData:
    """Read → validate → labels → clean → PII → dedup → contamination → split → write, audit, store.
    `engine` (default `data.engine`): `local` runs every step here; `ray` runs the row work on Ray Data
    (honed.data.ray_engine) and gives the same splits and drops."""
    if (engine or getattr(cfg.data, "engine", "local")) == "ray":
        import sys

        from honed.data.ray_engine import curate_on_ray

        records, dropped, info, fixed = curate_on_ray(cfg, sys.modules[__name__], address)
    else:
        records, dropped, info, fixed = _curate_locally(cfg)
    return _split_and_publish(cfg, out_dir, records, dropped, info, fixed)


def _curate_locally(cfg: Config):
    info = Curation()
    clock = time.perf_counter()
    records, dropped = load_records(cfg)
    _step_done(info, "read", len(records) + len(dropped), clock)
    info.steps.append({"step": "parsed", "rows": len(records), "seconds": 0.0})
    with StepBars() as bars:
        records, lost = curate(records, cfg, info, bars=bars)
        dropped += lost
        fixed, references, lost = _given_splits(cfg, info)
        dropped += lost
        for name, step in (("dedup", lambda r: dedup_step(r, cfg, info.duplicates,
                                                          progress=bars.start("dedup: MinHash", len(r)))),
                           ("contamination", lambda r: contamination_step(r, references, cfg, info.contamination))):
            clock = time.perf_counter()
            records, lost = step(records)
            dropped += lost
            _step_done(info, name, len(records), clock)
    return records, dropped, info, fixed


class StepBars:
    """One rich progress bar (with ETA) per slow curation step of at least core.progress.BAR_FROM_ROWS rows;
    `start(name, rows)` opens one and returns its `advance(n)`. A step's bar is filled when the next one starts or
    the bars close: the step counts what it signs or redacts, which can be fewer than its rows (exact duplicates are
    not signed).
    Smaller inputs take seconds and show no bar, so a usage error stays the first thing they print."""

    def __init__(self):
        self._progress, self._open = None, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fill()
        return self._progress.__exit__(*exc) if self._progress else None

    def start(self, name: str, rows: int):
        self._fill()
        from honed.core.progress import BAR_FROM_ROWS

        if rows < BAR_FROM_ROWS:
            return lambda n: None
        if self._progress is None:
            from honed.core.progress import make_progress

            self._progress = make_progress().__enter__()
        self._open = self._progress.add_task(name, total=rows, info=f"{rows:,} rows")
        task = self._open
        return lambda n: self._progress.advance(task, n)

    def _fill(self) -> None:
        if self._open is not None:
            task = next(t for t in self._progress.tasks if t.id == self._open)
            self._progress.update(task.id, completed=task.total)
            self._open = None


def _step_done(info: Curation, name: str, rows: int, started: float) -> None:
    """Record a step in the audit, and log it (long runs show their progress with logging at INFO)."""
    seconds = round(time.perf_counter() - started, 2)
    info.steps.append({"step": name, "rows": rows, "seconds": seconds})
    log.info("prepare: %s done, %d rows, %.1f s", name, rows, seconds)


def _split_and_publish(cfg: Config, out_dir: Path, records, dropped, info: Curation, fixed) -> PreparedData:
    if len(records) < MIN_ROWS:
        raise HonedError(f"only {len(records)} usable rows remain (need at least {MIN_ROWS})",
                         "add data, or look at the reasons in dropped rows with `honed data check FILE`",
                         details=sorted({d["code"] for d in dropped})[:5])
    splits = _split(records, fixed, cfg)
    if cfg.data.redact_pii:  # rows dropped before the PII step must not leak it through dropped.jsonl
        dropped = _redact_dropped(dropped, cfg)
    labels = cfg.objective.labels or sorted({class_label(r) for part in splits.values() for r in part
                                             if class_label(r) is not None})
    counts = {s["step"]: s["rows"] for s in info.steps}
    return _publish(cfg, out_dir, info, splits, dropped, counts, labels)


def _publish(cfg: Config, out_dir: Path, info: Curation, splits, dropped, counts, labels) -> PreparedData:
    """Write every output into a staging directory beside `out_dir`, swap it into place, then record the store
    row: a crash at any point leaves the previous complete set or the new complete set, never a mix."""
    from honed.core.io import publish_dir, staging_dir
    from honed.data.report import build_audit

    _check_output(cfg, out_dir)
    staging = staging_dir(out_dir)
    try:
        data = PreparedData.save(staging, splits, dropped, counts, labels)
        build_audit(cfg, data, info)
        publish_dir(staging, out_dir)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    data.directory = out_dir
    _record(cfg, data)
    return data


def _given_splits(cfg: Config, info: Curation) -> tuple[dict[str, list[dict]], list[dict], list[dict]]:
    """Existing validation/test files (kept as splits) and every evaluation row training must not overlap."""
    fixed, dropped = {}, []
    for name in ("validation", "test"):
        file = getattr(cfg.data, name)
        if file:
            rows, lost = load_records(cfg, [file])
            rows, more = curate(rows, cfg, info, stage=name)
            rows, twins = dedup_step(rows, cfg, {})  # a given evaluation file is de-duplicated too
            fixed[name] = rows
            more += twins
            dropped += [{**d, "step": f"{name}-file/{d['step']}"} for d in lost + more]
    references = [r for rows in fixed.values() for r in rows]
    if cfg.data.contamination:
        extra, _ = load_records(cfg, cfg.data.contamination)  # unreadable evaluation rows are not ours to drop
        references += extra
    return fixed, references, dropped


def _split(records: list[dict], fixed: dict[str, list[dict]], cfg: Config) -> dict[str, list[dict]]:
    """Seeded, stratified, group-aware split of what is not already fixed by a given file."""
    fractions = {n: getattr(cfg.data.split, n) for n in SPLITS if n not in fixed}
    if len(fractions) == 1:
        return {**fixed, "train": records}
    total = sum(fractions.values())
    parts = split_records(records, {n: f / total for n, f in fractions.items()}, seed=cfg.data.split.seed)
    return {n: fixed.get(n, parts.get(n, [])) for n in SPLITS}




def _check_output(cfg: Config, out_dir: Path) -> None:
    """The output directory is replaced as a whole: it must not be a file, nor hold the project or its data."""
    if out_dir.exists() and not out_dir.is_dir():
        raise HonedError(f"the output `{out_dir}` is a file", "pass a directory (it is created if missing)")
    target = out_dir.resolve()
    inputs = [cfg.root.resolve()] + [cfg.resolve(f).resolve() for f in cfg.data.train]
    if any(p == target or target in p.parents for p in inputs):
        raise HonedError(f"the output `{out_dir}` holds the project or its data, and prepare replaces its output "
                         "directory as a whole", "pass a directory of its own, e.g. `-o prepared`")


def _record(cfg: Config, data: PreparedData) -> None:
    from honed.core.store import Store

    with Store() as store:
        store.record_dataset(data.dataset_hash, cfg.project, str(data.directory.resolve()),
                             sum(len(v) for v in data.splits.values()),
                             {"counts": data.counts, "labels": data.labels, "files": list(cfg.data.train)})


def _redact_dropped(dropped: list[dict], cfg: Config) -> list[dict]:
    from honed.data.pii import Redactor, redact_value

    redactor = Redactor(public_ips_only=cfg.data.pii_public_ips_only, phone_region=cfg.data.pii_phone_region)
    ignored = Counter()
    return [{**d, "row": redact_value(d["row"], redactor, ignored)} for d in dropped]


def _drop(row: object, code: str, detail: str, step: str, path: Path | None = None, line: int | None = None) -> dict:
    """A dropped.jsonl row: Drop(code, detail, source, line) plus the step and the row itself."""
    if isinstance(row, dict) and "meta" in row:
        path, line = row["meta"].get("source"), row["meta"].get("line")
        row = {k: v for k, v in row.items() if k != "meta"}
    if isinstance(row, RowError):
        row = row.raw
    return Drop(code, detail, str(path) if path else None, line, step, row).to_dict()
