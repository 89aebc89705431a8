"""The embedded index: chunk vectors in faiss (exact inner product, ids = chunk ids), chunk texts and per-file
content hashes in JSON beside it. BM25 (bm25s) is rebuilt from the chunk texts when the index is opened: it takes
milliseconds for corpora that fit one machine, and is never stale.

Rebuilding is incremental: a file whose SHA-256 is unchanged keeps its chunks and vectors (nothing re-embedded),
a changed file's chunks are replaced, a removed file's are deleted. Changing the encoder or the chunking
settings rebuilds everything. Files are written to `.partial` and renamed; the manifest goes last and records the
number of vectors, so an interrupted write is detected and repaired by a full rebuild.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from honed.retrieval.chunk import chunk_text
from honed.retrieval.documents import content_hash, read_document
from honed.retrieval.embed import dimension, encode, tokenizer_of

MANIFEST, CHUNKS, VECTORS = "manifest.json", "chunks.json", "vectors.faiss"


@dataclass
class Chunk:
    id: int
    source: str
    start: int
    text: str


@dataclass
class IndexUpdate:
    """What one `honed index` did."""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    total_chunks: int = 0
    empty: list[str] = field(default_factory=list)  # files that yielded no text (e.g. a PDF without a text layer)


def settings_of(retrieval, encoder: str) -> dict:
    return {"encoder": encoder, "chunk_size": retrieval.chunk_size, "chunk_overlap": retrieval.chunk_overlap,
            "unit": retrieval.unit, "text_field": retrieval.text_field}


def update_index(directory: Path, files: list[Path], settings: dict, advance=None) -> IndexUpdate:
    """Bring the index in `directory` up to date with `files`; `advance(path)` is called after each file."""
    import faiss

    manifest, chunks, vectors = _load_or_empty(directory, settings)
    update = IndexUpdate()
    current = {str(p): p for p in files}
    for name in sorted(set(manifest["files"]) - set(current)):
        _drop_file(manifest, chunks, vectors, name)
        update.removed.append(name)
    for name, path in current.items():
        digest = content_hash(path)
        known = manifest["files"].get(name)
        if known and known["hash"] == digest:
            update.unchanged.append(name)
        else:
            if known:
                _drop_file(manifest, chunks, vectors, name)
            (update.changed if known else update.added).append(name)
            update.embedded_chunks += _add_file(manifest, chunks, vectors, path, digest, settings, update)
        if advance:
            advance(path)
    update.total_chunks = len(chunks)
    if update.added or update.changed or update.removed or not (directory / MANIFEST).is_file():
        _save(directory, manifest, chunks, vectors, faiss)
    return update


def _add_file(manifest, chunks, vectors, path: Path, digest: str, settings: dict, update: IndexUpdate) -> int:
    text = read_document(path, settings["text_field"])
    pieces = chunk_text(text, settings["chunk_size"], settings["chunk_overlap"], settings["unit"],
                        tokenizer_of(settings["encoder"]) if settings["unit"] == "tokens" else None)
    if not pieces:
        update.empty.append(str(path))
    ids = list(range(manifest["next_id"], manifest["next_id"] + len(pieces)))
    manifest["next_id"] += len(pieces)
    for chunk_id, (start, piece) in zip(ids, pieces):
        chunks[chunk_id] = Chunk(chunk_id, str(path), start, piece)
    if pieces:
        vectors.add_with_ids(encode([p for _, p in pieces], settings["encoder"]), np.asarray(ids, dtype=np.int64))
    manifest["files"][str(path)] = {"hash": digest, "ids": ids}
    return len(pieces)


def _drop_file(manifest, chunks, vectors, name: str) -> None:
    ids = manifest["files"].pop(name)["ids"]
    for chunk_id in ids:
        chunks.pop(chunk_id, None)
    if ids:
        vectors.remove_ids(np.asarray(ids, dtype=np.int64))


def _load_or_empty(directory: Path, settings: dict):
    """The stored index when it was built with the same settings and is whole; else an empty one."""
    import faiss

    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest["settings"] == settings:
            chunks = {int(k): Chunk(**v) for k, v in
                      json.loads((directory / CHUNKS).read_text(encoding="utf-8")).items()}
            vectors = faiss.read_index(str(directory / VECTORS))
            if vectors.ntotal == len(chunks) == manifest["vectors"]:
                return manifest, chunks, vectors
    except (OSError, ValueError, KeyError, RuntimeError):
        pass  # missing, unreadable or half-written: start again from the documents
    empty = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension(settings["encoder"])))
    return {"settings": settings, "files": {}, "next_id": 0, "vectors": 0}, {}, empty


def _save(directory: Path, manifest: dict, chunks: dict, vectors, faiss) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    faiss.write_index(vectors, str(directory / (VECTORS + ".partial")))
    os.replace(directory / (VECTORS + ".partial"), directory / VECTORS)
    _write_json(directory / CHUNKS, {str(k): vars(c) for k, c in sorted(chunks.items())})
    manifest["vectors"] = int(vectors.ntotal)
    _write_json(directory / MANIFEST, manifest)


def _write_json(path: Path, value) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


class CorpusIndex:
    """A built index opened for search: dense (faiss) + BM25 (bm25s), fused by reciprocal rank fusion."""

    def __init__(self, directory: Path, rrf_k: int = 60):
        import faiss

        self.directory = directory
        self.manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        stored = json.loads((directory / CHUNKS).read_text(encoding="utf-8"))
        self.chunks = [Chunk(**v) for _, v in sorted(stored.items(), key=lambda kv: int(kv[0]))]
        self.vectors = faiss.read_index(str(directory / VECTORS))
        self.rrf_k = rrf_k
        self.encoder = self.manifest["settings"]["encoder"]
        self._position = {c.id: i for i, c in enumerate(self.chunks)}
        self._bm25 = self._build_bm25()

    def _build_bm25(self):
        import bm25s

        if not self.chunks:
            return None
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize([c.text for c in self.chunks], stopwords="en", show_progress=False),
                        show_progress=False)
        return retriever

    def search(self, queries: list[str], k: int) -> list[list[Chunk]]:
        """The top-k chunks per query, best first."""
        if not self.chunks:
            return [[] for _ in queries]
        depth = min(len(self.chunks), max(50, 10 * k))
        dense = self._dense(queries, depth)
        sparse = self._sparse(queries, depth)
        return [[self.chunks[p] for p in reciprocal_rank_fusion([d, s], self.rrf_k)[:k]]
                for d, s in zip(dense, sparse)]

    def _dense(self, queries: list[str], depth: int) -> list[list[int]]:
        _, ids = self.vectors.search(encode(queries, self.encoder), depth)
        return [[self._position[int(i)] for i in row if i >= 0] for row in ids]

    def _sparse(self, queries: list[str], depth: int) -> list[list[int]]:
        import bm25s

        tokens = bm25s.tokenize(queries, stopwords="en", show_progress=False)
        positions, scores = self._bm25.retrieve(tokens, k=depth, show_progress=False)
        # Chunks sharing no word with the query score 0: they carry no BM25 evidence, so they get no rank.
        return [[int(p) for p, s in zip(row, score_row) if s > 0] for row, score_row in zip(positions, scores)]


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[int]:
    """Items ordered by sum over rankings of 1 / (k + rank), rank from 1 (Cormack et al., 2009); ties by first
    appearance."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])
