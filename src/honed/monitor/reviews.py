"""Workbench reviews as training examples: the one conversion behind `honed ui --export` and `honed retrain`.

- A decisive vote (A or B) → a preference pair (the winner's answer chosen, the loser's rejected).
- A correction, in a vote or an expert rating → an SFT example (the prompt + the corrected answer) and a preference
  pair per answer it replaced (the correction chosen, that answer rejected; an answer equal to it gives none).
- An answer an expert rated correct with a score of 4 or 5 and did not correct → an SFT example: a human checked it,
  which makes it as good a training row as a correction (rejection-sampling fine-tuning keeps exactly such answers).
- A tie, or "both bad", without a correction → nothing. A tie says neither answer is better, and a pair needs an
  order; "both bad" names no answer worth learning, and two bad answers make no pair either. Both still count
  in the results page (a tie as half a win; "both bad" is no game).

Pure functions over rows of the store's `votes` and `expert_ratings` tables (dicts or sqlite3.Row).
"""
from __future__ import annotations

from dataclasses import dataclass, field

APPROVED_SCORE = 4  # an expert's score from which a correct answer is a training example


@dataclass
class Review:
    """What one stored review teaches."""

    key: str                    # "vote:ID" or "rating:ID": `honed retrain` consumes each review once
    prompt: str
    answer: str | None = None   # the answer to learn (a correction, or an answer an expert approved)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (chosen, rejected)
    meta: dict = field(default_factory=dict)

    @property
    def teaches(self) -> bool:
        return bool(self.answer or self.pairs)


def from_vote(vote) -> Review:
    answers = {"left": vote["left_answer"] or "", "right": vote["right_answer"] or ""}
    review = Review(f"vote:{vote['id']}", vote["prompt"] or "",
                    meta={"source": "honed-ui", "vote_id": vote["id"], "reviewer": vote["reviewer"]})
    if vote["vote"] in answers:  # left / right; tie and both_bad give no order
        loser = "right" if vote["vote"] == "left" else "left"
        review.pairs.append((answers[vote["vote"]], answers[loser]))
    _add_correction(review, vote["correction"], answers.values())
    return review


def from_rating(rating) -> Review:
    review = Review(f"rating:{rating['id']}", rating["prompt"] or "",
                    meta={"source": "honed-ui", "rating_id": rating["id"], "reviewer": rating["reviewer"]})
    answer = rating["answer"] or ""
    _add_correction(review, rating["correction"], [answer])
    if review.answer is None and rating["correct"] and (rating["score"] or 0) >= APPROVED_SCORE and answer.strip():
        review.answer = answer
    return review


def _add_correction(review: Review, correction: str | None, replaced) -> None:
    if not (correction and correction.strip()):
        return
    review.answer = correction.strip()
    for answer in replaced:
        pair = (review.answer, answer)
        if answer.strip() and answer.strip() != review.answer and pair not in review.pairs:  # one pair per answer
            review.pairs.append(pair)


def reviews(votes, ratings) -> list[Review]:
    """Every vote, then every expert rating, that teaches something."""
    found = [from_vote(v) for v in votes] + [from_rating(r) for r in ratings]
    return [r for r in found if r.teaches]


# --- the exported files (`honed ui --export`, /export/…): chat shape, with where each row came from -----------

def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def preference_rows(items: list[Review]) -> list[dict]:
    return [{"prompt": _user(r.prompt), "chosen": _assistant(chosen), "rejected": _assistant(rejected),
             "meta": r.meta} for r in items for chosen, rejected in r.pairs]


def sft_rows(items: list[Review]) -> list[dict]:
    return [{"messages": _user(r.prompt) + _assistant(r.answer), "meta": r.meta} for r in items if r.answer]
