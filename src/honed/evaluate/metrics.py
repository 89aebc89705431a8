"""Task metrics by task kind; each function takes parallel lists of references and predictions.

Classification: accuracy, macro/micro precision-recall-F1, per-class table, confusion matrix (sklearn).
Extraction: exact match, token F1, JSON field-level precision/recall/F1 and schema validity.
Generation: ROUGE-1/2/L (rouge-score), BLEU and chrF (sacrebleu), exact match and token F1; BERTScore lives in
honed.evaluate.similarity (embedding_similarity, only with a locally installed encoder). Bootstrap intervals: honed.evaluate.stats.
"""
from __future__ import annotations

import difflib
import re

NO_LABEL = "<none>"


def parse_label(output: str, labels: list[str]) -> str:
    """Map free text to a label: exact match, else the earliest label named in the text, else a close spelling."""
    text = output.strip().lower()
    by_norm = {_norm(label): label for label in labels}
    if _norm(text) in by_norm:
        return by_norm[_norm(text)]
    positions = []
    for label in labels:
        for variant in {label.lower(), label.lower().replace("_", " ")}:
            match = re.search(rf"(?<![a-z0-9_]){re.escape(variant)}(?![a-z0-9_])", text)
            if match:
                positions.append((match.start(), -len(label), label))
    if positions:
        return min(positions)[2]
    first = _norm(text.split("\n")[0])
    close = difflib.get_close_matches(first, list(by_norm), n=1, cutoff=0.8)
    return by_norm[close[0]] if close else NO_LABEL


def classification_metrics(references: list[str], predictions: list[str], labels: list[str]) -> dict:
    """accuracy, macro/micro precision-recall-F1, per-class table and confusion matrix (sklearn)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    present = [label for label in labels if label in set(references)]
    p, r, f, support = precision_recall_fscore_support(references, predictions, labels=present, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(references, predictions, labels=present, average="macro",
                                                    zero_division=0)
    _, _, micro_f, _ = precision_recall_fscore_support(references, predictions, labels=present, average="micro",
                                                       zero_division=0)
    matrix_labels = labels + ([NO_LABEL] if NO_LABEL in predictions else [])
    return {
        "accuracy": float(accuracy_score(references, predictions)),
        "precision_macro": float(mp), "recall_macro": float(mr), "f1_macro": float(mf), "f1_micro": float(micro_f),
        "per_class": {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(support[i])} for i, label in enumerate(present)},
        "confusion": {"labels": matrix_labels,
                      "matrix": confusion_matrix(references, predictions, labels=matrix_labels).tolist()},
        "unparsed_rate": sum(p == NO_LABEL for p in predictions) / max(len(predictions), 1),
    }


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def token_f1(reference: str, prediction: str) -> float:
    """SQuAD-style token-overlap F1 on lower-cased words."""
    from collections import Counter

    ref, pred = _norm(reference).split(), _norm(prediction).split()
    if not ref or not pred:
        return float(ref == pred)
    common = sum((Counter(ref) & Counter(pred)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def text_metrics(references: list[str], predictions: list[str]) -> dict:
    """Exact match, token F1, ROUGE (rouge-score), BLEU and chrF (sacrebleu) for generation and extraction."""
    import sacrebleu
    from rouge_score import rouge_scorer

    n = max(len(references), 1)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rouge = [scorer.score(r, p) for r, p in zip(references, predictions)]
    return {
        "exact_match": sum(exact_match(r, p) for r, p in zip(references, predictions)) / n,
        "token_f1": sum(token_f1(r, p) for r, p in zip(references, predictions)) / n,
        **{k: sum(s[k].fmeasure for s in rouge) / n for k in ("rouge1", "rouge2", "rougeL")},
        "bleu": sacrebleu.corpus_bleu(predictions, [references]).score / 100,
        "chrf": sacrebleu.corpus_chrf(predictions, [references]).score / 100,
    }


# --- extraction: JSON field-level scores -----------------------------------------------------------------------


def parse_json_object(text: str):
    """The first JSON object in `text` (code fences and chatter around it are ignored), else None."""
    import json

    text = text.strip()
    start = text.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    value = json.loads(text[start:end + 1])
                except ValueError:
                    break
                return value if isinstance(value, dict) else None
        start = text.find("{", start + 1)
    return None


def json_fields(value, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a JSON value to (path, normalised scalar) pairs: {"a": {"b": [1, 2]}} → a.b[]=1, a.b[]=2."""
    if isinstance(value, dict):
        return [pair for key, v in value.items() for pair in json_fields(v, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(value, list):
        return [pair for v in value for pair in json_fields(v, f"{prefix}[]")]
    return [(prefix, _norm(str(value)) if value is not None else "null")]


def field_counts(reference: str, prediction: str) -> tuple[int, int, int, bool]:
    """(matching fields, predicted fields, reference fields, schema valid) for one example.

    A reference that is not a JSON object counts as one field holding its whole text. A prediction is
    schema-valid when it parses as a JSON object with the reference's top-level keys and value types.
    """
    from collections import Counter

    ref_obj = parse_json_object(reference)
    pred_obj = parse_json_object(prediction)
    if ref_obj is None:
        ref_fields = [("", _norm(reference))]
        pred_fields = [("", _norm(prediction))] if prediction.strip() else []
        valid = bool(prediction.strip())
    else:
        ref_fields = json_fields(ref_obj)
        pred_fields = json_fields(pred_obj) if pred_obj is not None else []
        valid = pred_obj is not None and set(pred_obj) == set(ref_obj) and all(
            _json_type(pred_obj[k]) == _json_type(ref_obj[k]) for k in ref_obj)
    matched = sum((Counter(ref_fields) & Counter(pred_fields)).values())
    return matched, len(pred_fields), len(ref_fields), valid


def _json_type(value) -> str:
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, int | float) else type(value).__name__


def field_metrics(references: list[str], predictions: list[str]) -> dict:
    """Micro field-level precision/recall/F1 over all examples and the schema-validity rate."""
    counts = [field_counts(r, p) for r, p in zip(references, predictions)]
    tp, n_pred, n_ref = (sum(c[i] for c in counts) for i in range(3))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_ref if n_ref else 0.0
    return {"field_precision": precision, "field_recall": recall,
            "field_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "schema_valid_rate": sum(c[3] for c in counts) / max(len(counts), 1)}


def exact_match(reference: str, prediction: str) -> float:
    return float(_norm(reference) == _norm(prediction))


def extraction_metrics(references: list[str], predictions: list[str]) -> dict:
    n = max(len(references), 1)
    return {"exact_match": sum(exact_match(r, p) for r, p in zip(references, predictions)) / n,
            "token_f1": sum(token_f1(r, p) for r, p in zip(references, predictions)) / n,
            **field_metrics(references, predictions)}


def task_metrics(task: str, references: list[str], predictions: list[str], labels: list[str]) -> dict:
    """The metric set of a task kind (see honed.core.config.METRICS_BY_TASK)."""
    if task == "classification":
        return classification_metrics(references, predictions, labels)
    if task == "extraction":
        return extraction_metrics(references, predictions)
    return text_metrics(references, predictions)
