"""The retrieval corpus: chunks with overlap, hybrid search finds the chunk that holds a known answer, and
re-indexing skips unchanged files (nothing re-embedded) and forgets removed ones."""
from __future__ import annotations

import json

import pytest

from honed.core.config import load_config
from honed.retrieval import index as index_module
from honed.retrieval.chunk import chunk_text
from honed.retrieval.corpus import build_index, holds_answer, open_index, recall_at_k, with_context

FACTS = {
    "lighthouse.md": ("# The Brannock lighthouse\n\nThe Brannock lighthouse was built in 1871 by the harbour "
                      "board. Its lamp is visible for twenty nautical miles. The keeper's cottage is now a museum."),
    "bakery.txt": ("Opening hours of the Millstone bakery: the bakery opens at 6:30 on weekdays and sells rye "
                   "sourdough. On Sundays it stays closed. The head baker is Ottilie Varga."),
    "volcano.md": ("Mount Keldra is a dormant stratovolcano. Its last eruption happened in 1602 and buried "
                   "the village of Sorn under ash. The summit crater holds a green acid lake."),
    "trains.txt": ("The night train from Vellam to Orsk departs from platform 9 at 23:40. Sleeper cabins hold "
                   "four berths; the dining car closes at midnight."),
}
ROWS = [{"text": "The river Tamsin floods every spring; the old bridge has seven stone arches."},
        {"text": "Glass from the Pellar furnace is coloured cobalt blue with a pinch of smalt."}]
QUESTIONS = [("When was the Brannock lighthouse built?", "1871"),
             ("Who is the head baker at the Millstone bakery?", "Ottilie Varga"),
             ("When did Mount Keldra last erupt?", "1602"),
             ("Which platform does the night train to Orsk leave from?", "platform 9"),
             ("How many arches does the old bridge over the Tamsin have?", "seven stone arches"),
             ("What colour is Pellar glass?", "cobalt blue")]


@pytest.fixture
def corpus_project(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in FACTS.items():
        filler = " ".join(f"Unrelated sentence {i} about nothing in particular." for i in range(12))
        (docs / name).write_text(f"{filler}\n\n{text}\n\n{filler}", encoding="utf-8")
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    config = tmp_path / "honed.yaml"
    config.write_text("project: rag\nobjective: {task: extraction, metric: exact_match}\n"
                      "data:\n  documents: [docs, more.jsonl]\n"
                      "  retrieval: {chunk_size: 200, chunk_overlap: 40, top_k: 3}\n", encoding="utf-8")
    return config


def test_retrieval_finds_the_chunk_that_holds_the_answer(corpus_project):
    cfg = load_config(corpus_project)
    index = open_index(cfg)
    found = index.search([q for q, _ in QUESTIONS], 3)
    quality = recall_at_k([a for _, a in QUESTIONS], found, index.chunks, 3)
    assert quality["answerable"] == len(QUESTIONS)
    assert quality["recall_at_k"] == 1.0, [[c.text[:60] for c in f] for f in found]
    assert {c.source.rsplit("/", 1)[-1] for c in index.chunks} == {*FACTS, "more.jsonl"}


def test_reindexing_an_unchanged_corpus_embeds_nothing(corpus_project, monkeypatch):
    cfg = load_config(corpus_project)
    first = build_index(cfg, show_progress=False)
    assert first.embedded_chunks == first.total_chunks > len(FACTS)
    calls = []
    real_encode = index_module.encode
    monkeypatch.setattr(index_module, "encode", lambda texts, name: calls.append(len(texts)) or
                        real_encode(texts, name))
    again = build_index(cfg, show_progress=False)
    assert (again.embedded_chunks, calls, again.added, again.changed) == (0, [], [], [])
    assert len(again.unchanged) == len(FACTS) + 1 and again.total_chunks == first.total_chunks

    docs = corpus_project.parent / "docs"
    (docs / "bakery.txt").write_text("The Millstone bakery now opens at 7:00.", encoding="utf-8")
    (docs / "trains.txt").unlink()
    changed = build_index(cfg, show_progress=False)
    assert [p.rsplit("/", 1)[-1] for p in changed.changed] == ["bakery.txt"]
    assert [p.rsplit("/", 1)[-1] for p in changed.removed] == ["trains.txt"]
    assert calls == [1]  # only the one new chunk of the changed file was embedded
    index = open_index(cfg)
    assert not any("Orsk" in c.text for c in index.chunks)
    assert index.search(["When does the Millstone bakery open?"], 1)[0][0].text.startswith("The Millstone bakery")


def test_chunks_overlap_and_cover_the_text():
    text = " ".join(f"w{i}" for i in range(300))
    chunks = chunk_text(text, 100, 30)
    assert all(len(piece) <= 100 for _, piece in chunks)
    assert all(chunks[i + 1][0] < chunks[i][0] + len(chunks[i][1]) for i in range(len(chunks) - 1))  # overlap
    assert chunks[-1][1].endswith("w299") and chunks[0][1].startswith("w0 ")
    words = chunk_text(text, 40, 10, unit="tokens")
    assert len(words[0][1].split()) == 40 and words[1][1].split()[0] == "w30"


def test_context_goes_into_the_system_prompt_and_answers_are_matched_normalised():
    from honed.retrieval.index import Chunk

    prompt = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "q?"}]
    rag = with_context(prompt, [Chunk(0, "a.md", 0, "The code is X-17.")])
    assert rag[0]["content"].startswith("Answer briefly.") and "[1] The code is X-17." in rag[0]["content"]
    assert rag[1:] == prompt[1:]
    assert holds_answer("The code is X-17.", "x 17") and not holds_answer("The code is X-170.", "X-17")


def test_a_missing_document_path_is_a_clear_error(tmp_path):
    from honed.core.errors import HonedError

    config = tmp_path / "honed.yaml"
    config.write_text("data: {documents: [nowhere]}\n", encoding="utf-8")
    with pytest.raises(HonedError, match="does not exist"):
        build_index(load_config(config), show_progress=False)


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose text layer holds `text` (Helvetica), with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>"),
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_honed_index_reads_pdf_and_prints_the_index_path(corpus_project, capsys):
    from honed.cli import main

    (corpus_project.parent / "docs" / "vault.pdf").write_bytes(_pdf_with_text("The vault code is 4417."))
    assert main(["index", str(corpus_project)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(corpus_project.parent / "rag-index")
    index = open_index(load_config(corpus_project))
    hit = index.search(["What is the vault code?"], 1)[0][0]
    assert hit.source.endswith("vault.pdf") and "4417" in hit.text


def test_a_bad_teacher_url_is_a_usage_error(tiny_project, capsys):
    from honed.cli import main

    assert main(["data", "synthesize", str(tiny_project), "--n", "2", "--teacher", "ftp://x"]) == 2
    assert "neither `local` nor an http(s) URL" in capsys.readouterr().err
