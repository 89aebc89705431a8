import random

import pytest

from honed.web.ratings import bradley_terry, outcomes, ratings_with_intervals, wilson_interval, win_rate


def test_wilson_interval_matches_the_textbook_value():
    low, high = wilson_interval(81, 263)  # Wilson (1927) example as in Newcombe (1998): 0.2553 – 0.3662
    assert low == pytest.approx(0.2553, abs=5e-4) and high == pytest.approx(0.3662, abs=5e-4)


def test_ties_count_half_in_the_win_rate():
    votes = [{"left_model": "a", "right_model": "b", "vote": v} for v in ("left", "right", "tie", "tie")]
    votes.append({"left_model": "b", "right_model": "a", "vote": "both_bad"})  # not a game
    result = win_rate(votes, "a", "b")
    assert result["n"] == 4 and result["wins"] == 2.0 and result["rate"] == 0.5
    assert result["low"] < 0.5 < result["high"]


def simulate(strengths: dict[str, float], n: int, seed: int) -> list[dict]:
    rng, models, votes = random.Random(seed), sorted(strengths), []
    for _ in range(n):
        x, y = rng.sample(models, 2)
        p = strengths[x] / (strengths[x] + strengths[y])
        u = rng.random()
        votes.append({"left_model": x, "right_model": y,
                      "vote": "tie" if abs(u - p) < 0.03 else ("left" if u < p else "right")})
    return votes


def test_bradley_terry_recovers_known_strengths():
    truth = {"weak": 1.0, "mid": 2.0, "strong": 4.0}
    fitted = bradley_terry(outcomes(simulate(truth, 3000, seed=1)))
    assert sorted(fitted, key=fitted.get) == ["weak", "mid", "strong"]
    assert fitted["strong"] / fitted["weak"] == pytest.approx(4.0, rel=0.2)
    assert fitted["mid"] / fitted["weak"] == pytest.approx(2.0, rel=0.2)


def test_bootstrap_intervals_contain_the_estimate_and_separate_distant_models():
    board = ratings_with_intervals(simulate({"a": 1.0, "b": 3.0, "c": 9.0}, 600, seed=2), samples=100)
    assert [r["model"] for r in board] == ["c", "b", "a"]
    for r in board:
        assert r["low"] <= r["rating"] <= r["high"]
    assert board[0]["low"] > board[2]["high"]
