"""Task metrics. Classification here; each function takes parallel lists of references and predictions."""
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
        "exact_match": sum(_norm(r) == _norm(p) for r, p in zip(references, predictions)) / n,
        "token_f1": sum(token_f1(r, p) for r, p in zip(references, predictions)) / n,
        **{k: sum(s[k].fmeasure for s in rouge) / n for k in ("rouge1", "rouge2", "rougeL")},
        "bleu": sacrebleu.corpus_bleu(predictions, [references]).score / 100,
        "chrf": sacrebleu.corpus_chrf(predictions, [references]).score / 100,
    }
