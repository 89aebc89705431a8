"""Workbench reviews as training data: what each kind of review teaches, which model's reviews a retrain reads,
and how they join the feedback (held-out slice, consumed once, cleaned with the feedback's pairs)."""
from __future__ import annotations

from pgkit import store_target  # noqa: F401 - a fixture

from honed.core.config import validate_config
from honed.core.store import Store
from honed.monitor.loop import feedback_data
from honed.monitor.reviews import from_rating, from_vote, reviews

LABELS = ["billing", "shipping", "login"]


def vote(i: int, choice: str, correction: str | None = None, left="shop@production", right="base",
         answers=("shipping", "billing"), prompt=None) -> dict:
    return {"id": i, "battle_id": i, "reviewer": "rita", "prompt": prompt or f"I was charged twice, ticket {i}",
            "left_model": left, "left_answer": answers[0], "right_model": right, "right_answer": answers[1],
            "vote": choice, "winner": {"left": left, "right": right}.get(choice), "correction": correction,
            "comment": None}


def rating(i: int, score: int, correct: bool, correction: str | None = None, answer="billing",
           model="shop:2") -> dict:
    return {"id": i, "battle_id": i, "reviewer": "ed", "prompt": f"Where is my invoice {i}?", "model": model,
            "answer": answer, "score": score, "correct": int(correct), "correction": correction, "comment": None}


def test_a_decisive_vote_is_one_pair_winner_over_loser():
    left, right = from_vote(vote(1, "left")), from_vote(vote(2, "right"))
    assert left.pairs == [("shipping", "billing")] and left.answer is None
    assert right.pairs == [("billing", "shipping")]


def test_ties_and_both_bad_teach_nothing_unless_corrected():
    assert reviews([vote(1, "tie"), vote(2, "both_bad")], []) == []
    corrected = from_vote(vote(3, "both_bad", correction=" login "))
    assert corrected.answer == "login"
    assert corrected.pairs == [("login", "shipping"), ("login", "billing")]  # beats each answer it replaced


def test_a_correction_equal_to_an_answer_gives_no_pair_with_it():
    review = from_vote(vote(1, "right", correction="billing"))
    assert review.answer == "billing"
    assert review.pairs == [("billing", "shipping")]  # the vote's pair; the correction's is the same, kept once


def test_expert_ratings_teach_corrections_and_approved_answers_only():
    assert from_rating(rating(1, 5, True)).answer == "billing" and from_rating(rating(1, 5, True)).pairs == []
    assert not from_rating(rating(2, 3, True)).teaches  # a 3 is not an approval
    assert not from_rating(rating(3, 5, False)).teaches  # rated high, marked wrong: no row
    corrected = from_rating(rating(4, 2, False, correction="login"))
    assert corrected.answer == "login" and corrected.pairs == [("login", "billing")]


def test_the_store_finds_reviews_of_a_model_and_its_versions_only(store_target):  # noqa: F811 - SQLite and PostgreSQL
    with Store(store_target) as store:
        for left, right in [("shop@production", "base"), ("base", "shop:3"), ("shop", "base"),
                            ("shopper", "base"), ("base", "other@production"), ("sh_p@x", "base")]:
            store.add_vote(vote(0, "left", left=left, right=right))
        for model in ("shop:2", "shop-old", "base"):
            store.add_expert_rating(rating(0, 5, True, model=model))
        voted = [(v["left_model"], v["right_model"]) for v in store.votes_on_model("shop")]
        rated = [r["model"] for r in store.expert_ratings_on_model("shop")]
        assert store.votes_on_model("s_op") == []  # `_` is not a wildcard
    assert voted == [("shop@production", "base"), ("base", "shop:3"), ("shop", "base")]
    assert rated == ["shop:2"]


def classification(fraction: float = 0.0):
    return validate_config({"project": "shop", "objective": {"labels": LABELS},
                            "monitor": {"retrain_heldout_fraction": fraction}})


def test_reviews_become_rows_in_the_projects_shape_and_pairs_with_labels_chosen():
    items = reviews([vote(1, "right"), vote(2, "tie", correction="billing"), vote(3, "left", correction="refund!")],
                    [rating(4, 4, True)])
    found = feedback_data([], set(), classification(), items)
    assert found.sft == [{"text": "I was charged twice, ticket 2", "label": "billing"},
                         {"text": "Where is my invoice 4?", "label": "billing"}]
    # vote 1's pair, vote 2's correction over the answer it replaced, vote 3's pair; `refund!` is no label to prefer
    assert [(p["chosen"], p["rejected"]) for p in found.preference] == [("billing", "shipping")] * 2 + [
        ("shipping", "billing")]
    assert found.preference[0]["prompt"] == [{"role": "user", "content": "I was charged twice, ticket 1"}]
    assert found.used == {"vote:1": "preference", "vote:2": "sft", "vote:3": "preference", "rating:4": "sft"}
    assert [s["review"] for s in found.skipped if "review" in s] == ["vote:3"]  # `refund!` is not a label


def test_consumed_reviews_are_not_read_again():
    items = reviews([vote(1, "right"), vote(2, "left", correction="billing")], [])
    first = feedback_data([], set(), classification(), items)
    again = feedback_data([], set(first.used), classification(), items)
    assert not first.is_empty and again.is_empty and again.used == {}


def test_a_held_out_review_gives_a_test_row_and_no_pair():
    items = reviews([vote(i, "left", correction="billing") for i in range(40)], [])
    found = feedback_data([], set(), classification(0.5), items)
    held = {k for k, kind in found.used.items() if kind == "heldout"}
    assert 5 < len(held) < 35 and len(found.heldout) == len(held) and len(found.sft) == 40 - len(held)
    prompts = {p["prompt"][0]["content"] for p in found.preference}
    assert prompts and not prompts & {row["text"] for row in found.heldout}  # test prompts never train
    assert feedback_data([], set(), classification(0.5), items).used == found.used  # the same split every run


def test_chat_projects_get_message_rows():
    cfg = validate_config({"project": "shop", "objective": {"task": "generation", "metric": "rougeL"},
                           "monitor": {"retrain_heldout_fraction": 0}})
    found = feedback_data([], set(), cfg, reviews([vote(1, "left", correction="Refunded: see your email.")], []))
    assert found.sft == [{"messages": [{"role": "user", "content": "I was charged twice, ticket 1"},
                                       {"role": "assistant", "content": "Refunded: see your email."}]}]
    assert len(found.preference) == 3
