"""Blind A/B review, expert rating, results and exports."""
from __future__ import annotations

import json
from itertools import combinations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from honed.core.errors import HonedError
from honed.web import battles, exports, ratings
from honed.web.common import checked_form, current_user, form_int, open_store, render


def add(app: FastAPI) -> None:
    @app.get("/review")
    def review(request: Request):
        user = current_user(request)
        with open_store(request) as store:
            battle = store.next_battle_for(user["name"])
            total = len(store.battles())
        if battle is None:
            return render(request, "review.html", battle=None, total=total)
        (_, left), (_, right) = battles.sides(battle)  # the model names never reach the page before the vote
        return render(request, "review.html", battle={"id": battle["id"], "prompt": battle["prompt"],
                                                       "left": left, "right": right}, total=total)

    @app.post("/review/vote")
    async def vote(request: Request):
        user, form = await checked_form(request)
        with open_store(request) as store:
            battle = store.battle(form_int(form, "battle_id"))
            if battle is None:
                return PlainTextResponse("no such battle", status_code=404)
            row = battles.vote_row(battle, user["name"], form.get("vote", ""), form.get("correction", ""),
                                   form.get("comment", ""))
            vote_id = store.add_vote(row)
        return RedirectResponse(f"/review/votes/{vote_id}", status_code=303)

    @app.get("/review/votes/{vote_id}")
    def reveal(request: Request, vote_id: int):
        user = current_user(request)
        with open_store(request) as store:
            row = store.vote(vote_id)
        if row is None or (row["reviewer"] != user["name"] and user["role"] != "admin"):
            return PlainTextResponse("no such vote of yours", status_code=404)
        return render(request, "reveal.html", vote=dict(row))

    @app.get("/review/expert")
    def expert(request: Request):
        user = current_user(request)
        with open_store(request) as store:
            rated = {r["battle_id"] for r in store.expert_ratings() if r["reviewer"] == user["name"]}
            battle = next((b for b in store.battles() if b["id"] not in rated), None)
        shown = None
        if battle is not None:
            (_, answer), _ = battles.sides(battle)
            shown = {"id": battle["id"], "prompt": battle["prompt"], "answer": answer}
        return render(request, "expert.html", battle=shown)

    @app.post("/review/expert")
    async def rate(request: Request):
        user, form = await checked_form(request)
        score = form_int(form, "score")
        if not 1 <= score <= 5:
            raise HonedError(f"a score is 1 to 5, got {score}", "pick one of the five")
        with open_store(request) as store:
            battle = store.battle(form_int(form, "battle_id"))
            if battle is None:
                return PlainTextResponse("no such battle", status_code=404)
            (model, answer), _ = battles.sides(battle)
            store.add_expert_rating({"battle_id": battle["id"], "reviewer": user["name"], "prompt": battle["prompt"],
                                     "model": model, "answer": answer, "score": score,
                                     "correct": int(form.get("correct") == "yes"),
                                     "correction": (form.get("correction") or "").strip() or None,
                                     "comment": (form.get("comment") or "").strip() or None})
        return RedirectResponse("/review/expert", status_code=303)

    @app.get("/results")
    def results(request: Request):
        current_user(request)
        with open_store(request) as store:
            votes = [dict(v) for v in store.votes()]
        return render(request, "results.html", **summary(votes))

    @app.get("/export/{name}")
    def export(request: Request, name: str):
        current_user(request)
        with open_store(request) as store:
            votes, scored = store.votes(), store.expert_ratings()
            if name == "preferences.jsonl":
                body = _jsonl(exports.preference_pairs(votes, scored))
            elif name == "sft.jsonl":
                body = _jsonl(exports.sft_rows(votes, scored))
            elif name == "label-studio.json":
                body = json.dumps(exports.label_studio_tasks(store), ensure_ascii=False, indent=1)
            else:
                return PlainTextResponse("unknown export", status_code=404)
        return Response(body, media_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{name}"'})


def summary(votes: list[dict]) -> dict:
    models = sorted({m for v in votes for m in (v["left_model"], v["right_model"])})
    pairs = [ratings.win_rate(votes, a, b) for a, b in combinations(models, 2)]
    board = ratings.ratings_with_intervals(votes) if len(models) >= 3 else []
    counts = {k: sum(v["vote"] == k for v in votes) for k in battles.VOTES}
    return {"pairs": [p for p in pairs if p["n"]], "board": board, "counts": counts, "total": len(votes)}


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
