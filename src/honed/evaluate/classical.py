"""The strongest simple baseline: would a classical model do as well, for a thousandth of the cost?

Classification: TF-IDF over word 1–2-grams and character 2–5-grams + a linear SVM (scikit-learn's defaults
otherwise), trained on the same train split. Extraction and generation: the answer of the nearest training
example by TF-IDF cosine; for generation also the leading sentences of the input (the summarisation baseline),
the better of the two on the primary metric being the headline, like greedy vs label scoring for the models.
No model is loaded: the whole candidate costs seconds of CPU.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

LEAD_SENTENCES = 3  # the classic "lead-3" summarisation baseline
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class ClassicalFit:
    """Predictions per decoding plus what they cost: fitting and predicting seconds."""

    predictions: dict[str, list[str]]
    train_seconds: float
    predict_seconds: float


def user_input(conversation: list[dict]) -> str:
    """What a classical model sees of a prompt: the user turns (the shared instruction carries no signal)."""
    return "\n".join(m["content"] for m in conversation if m["role"] == "user")


def fit_classifier(train_inputs: list[str], train_labels: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
    return make_pipeline(features, LinearSVC()).fit(train_inputs, train_labels)


def nearest_answers(train_inputs: list[str], train_answers: list[str], inputs: list[str]) -> list[str]:
    """Each input's most similar training input (TF-IDF cosine) → that example's answer."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(train_inputs + inputs)
    similarity = vectorizer.transform(inputs) @ vectorizer.transform(train_inputs).T
    return [train_answers[int(row.argmax())] if row.nnz else train_answers[0] for row in similarity.tocsr()]


def lead_sentences(text: str, n: int = LEAD_SENTENCES) -> str:
    return " ".join(_SENTENCE_END.split(text.strip())[:n])


def fit_and_predict(task: str, train_inputs: list[str], train_answers: list[str], inputs: list[str]) -> ClassicalFit:
    """Train on (input, answer) pairs and answer `inputs` with every decoding the task has."""
    started = time.perf_counter()
    if task == "classification":
        model = fit_classifier(train_inputs, train_answers)
        fitted = time.perf_counter()
        predictions = {"tfidf_svm": [str(p) for p in model.predict(inputs)]}
    else:
        fitted = time.perf_counter()  # nearest-neighbour lookup fits and predicts in one pass
        predictions = {"nearest_neighbour": nearest_answers(train_inputs, train_answers, inputs)}
        if task == "generation":
            predictions["lead_sentences"] = [lead_sentences(text) for text in inputs]
    return ClassicalFit(predictions, fitted - started, time.perf_counter() - fitted)
