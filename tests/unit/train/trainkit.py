"""Helpers for training tests: a tiny config, tiny conversations and preference pairs."""
from __future__ import annotations


def tiny_cfg(method: dict | None = None, **train):
    from honed.core.config import validate_config

    settings = {"max_steps": 3, "learning_rate": 1e-2, "batch_size": 4, "warmup_ratio": 0.0, **train}
    return validate_config({"project": "t", "model": {"base": "tiny-random", "max_length": 128},
                            "method": {"kind": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "num_virtual_tokens": 4,
                                       **(method or {})}, "train": settings})


def chats(n: int = 8, answer: str = "hello {i}") -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"hi number {i}"},
                          {"role": "assistant", "content": answer.format(i=i)}]} for i in range(n)]


def pairs(n: int = 8) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": f"Is statement {i} polite?"}],
             "chosen": "Yes, it is polite and kind.", "rejected": "No way, rude rude rude."} for i in range(n)]




def overfit_records() -> tuple[list[dict], list[dict]]:
    """A crafted overfitting case: training answers are always "yes", validation answers always "no".
    Both losses fall while the model learns the shared template and end-of-turn token; then training loss keeps
    falling while validation loss climbs."""
    def conv(i: int, answer: str) -> dict:
        return {"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": answer}]}

    return [conv(i, "yes yes yes") for i in range(4)], [conv(i, "no no no") for i in range(4)]
