"""Numbers from votes: a win rate with its Wilson interval (ties count half) and Bradley–Terry ratings.

Bradley–Terry is fitted with Hunter's (2004) MM iteration: P(i beats j) = p_i / (p_i + p_j); a tie counts as half a
win each way. Intervals come from a bootstrap over votes (resampled with replacement, seeded).
"""
from __future__ import annotations

import math
import random
from collections import defaultdict

from honed.evaluate.stats import Z95, wilson_interval  # noqa: F401  (re-exported for the pages)


def outcomes(votes: list[dict]) -> list[tuple[str, str, float]]:
    """(model x, model y, score of x) per decisive vote: 1 x won, 0 y won, 0.5 tie; `both_bad` is left out."""
    out = []
    for v in votes:
        left, right = v["left_model"], v["right_model"]
        score = {"left": 1.0, "right": 0.0, "tie": 0.5}.get(v["vote"])
        if score is not None:
            out.append((left, right, score))
    return out


def win_rate(votes: list[dict], model: str, opponent: str) -> dict:
    """`model`'s win rate against `opponent` over the votes between them, with a 95% Wilson interval."""
    wins, n = 0.0, 0
    for x, y, score in outcomes(votes):
        if {x, y} == {model, opponent}:
            wins += score if x == model else 1 - score
            n += 1
    low, high = wilson_interval(wins, n)
    return {"model": model, "opponent": opponent, "n": n, "wins": wins,
            "rate": wins / n if n else None, "low": low, "high": high}


def bradley_terry(games: list[tuple[str, str, float]], iterations: int = 500, tol: float = 1e-9) -> dict[str, float]:
    """Strengths (geometric mean 1) by the MM algorithm; a tiny prior game against each other model keeps a
    model that never won (or never lost) finite."""
    models = sorted({m for x, y, _ in games for m in (x, y)})
    wins: dict[str, float] = defaultdict(float)
    pairs: dict[tuple[str, str], float] = defaultdict(float)
    for x, y, score in games:
        wins[x] += score
        wins[y] += 1 - score
        pairs[tuple(sorted((x, y)))] += 1
    for i, a in enumerate(models):  # the prior: 0.1 game per pair, split evenly
        for b in models[i + 1:]:
            pairs[(a, b)] += 0.1
            wins[a] += 0.05
            wins[b] += 0.05
    strength = {m: 1.0 for m in models}
    for _ in range(iterations):
        updated = {}
        for m in models:
            denominator = sum(n / (strength[m] + strength[b if a == m else a])
                              for (a, b), n in pairs.items() if m in (a, b))
            updated[m] = wins[m] / denominator
        scale = math.exp(sum(math.log(v) for v in updated.values()) / len(updated))
        updated = {m: v / scale for m, v in updated.items()}
        change = max(abs(updated[m] - strength[m]) for m in models)
        strength = updated
        if change < tol:
            break
    return strength


def ratings_with_intervals(votes: list[dict], samples: int = 200, seed: int = 0) -> list[dict]:
    """Bradley–Terry ratings on an Elo-like scale (400·log10, mean 1000) with 95% bootstrap intervals."""
    games = outcomes(votes)
    if not games:
        return []
    point = _elo(bradley_terry(games))
    rng = random.Random(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(samples):
        sample = [games[rng.randrange(len(games))] for _ in games]
        for m, r in _elo(bradley_terry(sample, iterations=200, tol=1e-6)).items():
            draws[m].append(r)
    rows = []
    for m, r in sorted(point.items(), key=lambda kv: -kv[1]):
        values = sorted(draws[m]) or [r]
        rows.append({"model": m, "rating": r, "low": values[int(0.025 * (len(values) - 1))],
                     "high": values[int(0.975 * (len(values) - 1))], "games": sum(m in g[:2] for g in games)})
    return rows


def _elo(strength: dict[str, float]) -> dict[str, float]:
    return {m: 1000 + 400 * math.log10(s) for m, s in strength.items()}
