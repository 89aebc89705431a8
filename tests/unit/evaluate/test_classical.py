"""The classical baseline: TF-IDF + linear SVM for labels, nearest neighbour and lead sentences for text."""
from __future__ import annotations

import random

from honed.evaluate.classical import fit_and_predict, lead_sentences, nearest_answers

TOPICS = {"billing": ["invoice", "refund", "charged twice"], "shipping": ["parcel", "courier", "tracking"],
          "login": ["password", "sign in", "two-factor"]}


def rows(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice(sorted(TOPICS))
        out.append((f"hi, a question about my {rng.choice(TOPICS[label])}, order {rng.randint(1, 999)}", label))
    return out


def test_svm_learns_keyword_labels_and_reports_its_costs():
    train, test = rows(90, 0), rows(30, 1)
    fit = fit_and_predict("classification", [t for t, _ in train], [y for _, y in train], [t for t, _ in test])
    predicted = fit.predictions["tfidf_svm"]
    assert sum(p == y for p, (_, y) in zip(predicted, test)) / len(test) >= 0.9
    assert fit.train_seconds > 0 and fit.predict_seconds >= 0


def test_svm_is_not_an_oracle_on_random_labels():
    """The baseline can lose: with labels unrelated to the text it is near chance, not near 1."""
    train, test = rows(90, 0), rows(60, 1)
    rng = random.Random(5)
    noisy = [rng.choice(sorted(TOPICS)) for _ in train]
    fit = fit_and_predict("classification", [t for t, _ in train], noisy, [t for t, _ in test])
    accuracy = sum(p == y for p, (_, y) in zip(fit.predictions["tfidf_svm"], test)) / len(test)
    assert accuracy < 0.7


def test_nearest_neighbour_answers_with_the_closest_training_example():
    inputs = ["reset my password please", "where is my parcel", "refund the double charge"]
    answers = ["Use the reset link.", "Check the tracking page.", "Refund issued."]
    assert nearest_answers(inputs, answers, ["my parcel: where is it?", "password reset"]) == \
        ["Check the tracking page.", "Use the reset link."]


def test_generation_gets_lead_sentences_too():
    fit = fit_and_predict("generation", ["a b c. d e f."], ["summary"], ["One. Two! Three? Four."])
    assert fit.predictions["lead_sentences"] == ["One. Two! Three?"]
    assert set(fit.predictions) == {"nearest_neighbour", "lead_sentences"}
    assert lead_sentences("Only one sentence") == "Only one sentence"
