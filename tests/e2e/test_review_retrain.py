"""Workbench reviews feed `honed retrain` on tiny-random: votes (with and without corrections) and expert ratings of
the production model become SFT rows and preference pairs of the next dataset version, with lineage; reviews of
other models, ties and "both bad" without a correction give nothing; a second retrain finds nothing new; the
written files pass `honed data check`."""
from __future__ import annotations

import json
import uuid

import pytest

from honed.cli import main
from honed.core.store import Store
from honed.web.battles import sides, vote_row

FAST = ["evaluation.probes=false", "evaluation.perplexity=false", "evaluation.latency_samples=0",
        "evaluation.baselines=[zero_shot]", "evaluation.bootstrap_samples=100", "train.epochs=1",
        "monitor.embeddings=hashed", "objective.target=0.0", "monitor.retrain_heldout_fraction=0"]

CHARGED = "Hello, I was charged twice on invoice 4411, please refund one"
PARCEL = "Hello, my parcel is lost and the tracking number shows nothing"
WEATHER = "Hello, is it going to rain at the depot tomorrow"
SIGN_IN = "Hello, I cannot sign in since the password reset yesterday"
RECEIPT = "Hello, where do I download the receipt for my last payment"
TIE = "Hello, which courier brings my delivery address change"
MORE = 8  # corrected votes enough for `honed data check`, which wants 10 rows in a file


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from projectkit import tiny_config_text, write_ticket_rows

    root = tmp_path_factory.mktemp("reviews")
    write_ticket_rows(root / "data.jsonl", per_label=15)
    name = f"rev-{uuid.uuid4().hex[:6]}"
    (root / "honed.yaml").write_text(tiny_config_text().replace("project: tiny", f"project: {name}"))
    assert main(["run", str(root / "honed.yaml"), "--output", str(root / "v1"), *FAST]) == 0
    assert main(["models", "promote", name, "1", "--alias", "production"]) == 0
    return root, name


def vote_for(store: Store, prompt: str, answers: dict[str, str], winner: str | None, vote: str = "",
             correction: str = "") -> int:
    """A battle between two models, and a reviewer's vote on it exactly as the review page stores it."""
    (model_a, answer_a), (model_b, answer_b) = answers.items()
    battle = store.battle(store.add_battle(prompt, model_a, answer_a, model_b, answer_b, seed=0))
    (left, _), _ = sides(battle)
    if winner is not None:
        vote = "left" if left == winner else "right"
    return store.add_vote(vote_row(battle, "rita", vote, correction))


def rate(store: Store, prompt: str, model: str, answer: str, score: int, correct: bool, correction: str = "") -> int:
    return store.add_expert_rating({"reviewer": "ed", "prompt": prompt, "model": model, "answer": answer,
                                    "score": score, "correct": int(correct), "correction": correction or None})


def seed_reviews(name: str) -> dict[str, str]:
    """The reviews, keyed as `honed retrain` consumes them, with what each should teach."""
    ours = f"{name}@production"
    with Store() as store:
        plain = vote_for(store, CHARGED, {ours: "shipping", "base": "billing"}, winner="base")
        corrected = vote_for(store, PARCEL, {ours: "login", "base": "billing"}, None, "both_bad", "shipping")
        tie = vote_for(store, TIE, {ours: "shipping", "base": "shipping"}, None, "tie")
        other = vote_for(store, WEATHER, {"other-model": "login", "base": "billing"}, "base", correction="shipping")
        more = [vote_for(store, f"Hello, the courier left parcel {i} at the wrong door", {ours: "billing",
                         "base": "login"}, None, "both_bad", "shipping") for i in range(MORE)]
        approved = rate(store, SIGN_IN, f"{name}:1", "login", 5, True)
        fixed = rate(store, RECEIPT, f"{name}:1", "login", 1, False, correction="billing")
    return {**{f"vote:{i}": "row+pair" for i in more}, f"vote:{plain}": "pair", f"vote:{corrected}": "row+pair",
            f"rating:{approved}": "row", f"rating:{fixed}": "row+pair", f"vote:{tie}": "nothing",
            f"vote:{other}": "other model"}


def test_reviews_become_the_next_dataset_version_once(project, capsys):
    root, name = project
    config = str(root / "honed.yaml")
    keys = seed_reviews(name)
    out = root / "retrain-1"
    assert main(["retrain", config, "--output", str(out), "--json", *FAST, "evaluation.gate_tolerance=1.0"]) == 0
    outcome = _last_json(capsys)
    assert outcome["status"] in ("promoted", "staging") and outcome["version"] == 2

    sft = {(r["text"], r["label"]) for r in _rows(out / "feedback" / "sft.jsonl")}
    assert len(sft) == 3 + MORE and {(RECEIPT, "billing"), (PARCEL, "shipping"), (SIGN_IN, "login")} <= sft
    pairs = [(p["prompt"][-1]["content"], p["chosen"], p["rejected"])
             for p in _rows(out / "feedback" / "preference.jsonl")]
    assert len(pairs) == 4 + 2 * MORE and {  # a correction beats each answer it replaced
        (CHARGED, "billing", "shipping"), (RECEIPT, "billing", "login"), (PARCEL, "shipping", "billing"),
        (PARCEL, "shipping", "login")} <= set(pairs)
    assert not [p for p in pairs if WEATHER in p[0] or TIE in p[0]]
    train = (out / "data" / "train.jsonl").read_text()
    assert all(text in train for text in (PARCEL, SIGN_IN, RECEIPT)) and WEATHER not in train

    taught = sorted(k for k, what in keys.items() if what in ("pair", "row", "row+pair"))
    with Store() as store:
        meta = json.loads(store.model_version(name, 2)["meta"])
        consumed = store.consumed_inputs(name)
    assert meta["reviews"] == taught  # lineage: which reviews made this version
    assert meta["feedback_files"]["sft"] == str((out / "feedback" / "sft.jsonl").resolve())
    assert set(taught) <= consumed and not {k for k, w in keys.items() if w in ("nothing", "other model")} & consumed

    for written in ("sft.jsonl", "preference.jsonl"):
        assert main(["data", "check", str(out / "feedback" / written), "--config", config]) == 0, written
    capsys.readouterr()

    again = root / "retrain-2"
    assert main(["retrain", config, "--output", str(again), "--json", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "nothing_new"
    assert not again.exists()
    with Store() as store:
        assert [v["version"] for v in store.model_versions(name)] == [1, 2]


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _last_json(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out[out.rindex("\n{") + 1:] if not out.startswith("{") else out)
