"""The retrieval corpus of a project: build (`honed index`), search, put chunks into prompts, measure recall."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from honed.core.config import Config
from honed.core.errors import HonedError
from honed.retrieval.documents import find_documents
from honed.retrieval.embed import encoder_name
from honed.retrieval.index import Chunk, CorpusIndex, IndexUpdate, settings_of, update_index

CONTEXT_HEADER = "Use the following context if it helps to answer."


def index_directory(cfg: Config) -> Path:
    return cfg.resolve(cfg.data.retrieval.index_dir)


def build_index(cfg: Config, show_progress: bool = True) -> IndexUpdate:
    """Bring the project's index up to date with `data.documents` (unchanged files are skipped)."""
    from honed.core.progress import make_progress

    if not cfg.data.documents:
        raise HonedError("no documents to index", "set `data.documents` in honed.yaml to files or folders "
                         "(Markdown, text, PDF, JSONL)")
    files = find_documents(cfg.root, cfg.data.documents)
    if not files:
        raise HonedError(f"data.documents names no readable document ({', '.join(cfg.data.documents)})",
                         "add .md, .txt, .pdf or .jsonl files there")
    settings = settings_of(cfg.data.retrieval, encoder_name(cfg.data.retrieval.embeddings))
    if not show_progress:
        return update_index(index_directory(cfg), files, settings)
    with make_progress() as progress:
        task = progress.add_task("index", total=len(files), info=settings["encoder"])
        return update_index(index_directory(cfg), files, settings,
                            advance=lambda path: progress.advance(task))


def open_index(cfg: Config, show_progress: bool = False) -> CorpusIndex:
    """The project's index, updated first (a no-op when nothing changed)."""
    build_index(cfg, show_progress)
    return CorpusIndex(index_directory(cfg), cfg.data.retrieval.rrf_k)


@dataclass
class Retrieved:
    """Chunks retrieved for each test row, and how well retrieval did where the references allow measuring it."""
    chunks: list[list[Chunk]]
    quality: dict


def retrieve_for_prompts(cfg: Config, prompts: list[list[dict]], references: list[str]) -> Retrieved:
    """Top-k chunks for each prompt (queried by its last user turn) and recall@k against the references."""
    index = open_index(cfg)
    queries = [query_of(p) for p in prompts]
    k = cfg.data.retrieval.top_k
    found = index.search(queries, k)
    quality = recall_at_k(references, found, index.chunks, k) if cfg.objective.task != "classification" else \
        {"k": k, "recall_at_k": None, "note": "classification labels are not passages: recall@k is not measured"}
    quality.update(chunks=len(index.chunks), files=len(index.manifest["files"]), encoder=index.encoder)
    return Retrieved(found, quality)


def query_of(prompt: list[dict]) -> str:
    users = [m["content"] for m in prompt if m["role"] == "user"]
    return users[-1] if users else " ".join(m["content"] for m in prompt)


def with_context(prompt: list[dict], chunks: list[Chunk]) -> list[dict]:
    """The prompt with the retrieved chunks appended to its system message (one is added when there is none)."""
    if not chunks:
        return prompt
    context = "\n\n".join(f"[{i}] {c.text}" for i, c in enumerate(chunks, 1))
    block = f"{CONTEXT_HEADER}\n\n{context}"
    if prompt and prompt[0]["role"] == "system":
        return [{**prompt[0], "content": f"{prompt[0]['content']}\n\n{block}".strip()}, *prompt[1:]]
    return [{"role": "system", "content": block}, *prompt]


def normalised(text: str) -> str:
    """Lower-cased, punctuation as spaces, whitespace collapsed: the form in which 'holds the answer' is tested."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def holds_answer(chunk_text: str, reference: str) -> bool:
    answer = normalised(reference)
    return bool(answer) and f" {answer} " in f" {normalised(chunk_text)} "


def recall_at_k(references: list[str], found: list[list[Chunk]], corpus: list[Chunk], k: int) -> dict:
    """Share of answerable rows (some chunk in the corpus holds the reference) whose top-k holds it too."""
    normal_corpus = [f" {normalised(c.text)} " for c in corpus]
    answerable = hits = 0
    for reference, chunks in zip(references, found):
        answer = normalised(reference)
        if not answer or not any(f" {answer} " in text for text in normal_corpus):
            continue
        answerable += 1
        hits += any(holds_answer(c.text, reference) for c in chunks[:k])
    return {"k": k, "recall_at_k": hits / answerable if answerable else None, "answerable": answerable,
            "rows": len(references)}
