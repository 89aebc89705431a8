"""Teachers: who writes the synthetic examples. An OpenAI-compatible endpoint through honed.evaluate.api.ChatClient,
or the local base model, sampled (temperature > 0 gives different examples for the same prompt)."""
from __future__ import annotations

from honed.core.config import Config


class ApiTeacher:
    def __init__(self, url: str, model: str, api_key_env: str = "OPENAI_API_KEY", transport=None):
        from honed.evaluate.api import ChatClient

        self.client = ChatClient(url, model, api_key_env, transport=transport)
        self.name = f"{model} at {self.client.endpoint}"

    def complete(self, messages: list[dict], max_tokens: int, temperature: float) -> str:
        return self.client.complete(messages, max_tokens, temperature)[0]


class LocalTeacher:
    def __init__(self, model, tokenizer, reference: str, seed: int):
        self.model, self.tokenizer, self.seed = model, tokenizer, seed
        self.name = f"local {reference}"
        self._calls = 0

    def complete(self, messages: list[dict], max_tokens: int, temperature: float) -> str:
        import torch

        from honed.core.chat import render_prompt

        if temperature <= 0:
            from honed.evaluate.generate import generate_all

            return generate_all(self.model, self.tokenizer, [messages], max_new_tokens=max_tokens, batch_size=1,
                                description="teacher")[0].strip()
        self._calls += 1
        torch.manual_seed(self.seed + self._calls)  # reproducible, yet a different sample per call
        ids = self.tokenizer(render_prompt(self.tokenizer, messages), return_tensors="pt", add_special_tokens=False)
        self.model.eval()
        with torch.no_grad():
            out = self.model.generate(**ids, max_new_tokens=max_tokens, do_sample=True, temperature=temperature,
                                      top_p=0.95, pad_token_id=self.tokenizer.pad_token_id or
                                      self.tokenizer.eos_token_id)
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def checked_teacher(teacher: str) -> str:
    """`local`, or the URL without credentials; anything else is a usage error (the config key's own check)."""
    from pydantic import ValidationError

    from honed.core.config import Synthetic
    from honed.core.errors import HonedError

    try:
        return Synthetic(teacher=teacher).teacher
    except ValidationError:
        raise HonedError(f"the teacher `{teacher}` is neither `local` nor an http(s) URL",
                         "pass --teacher local or e.g. --teacher http://localhost:8000/v1") from None


def make_teacher(cfg: Config, teacher: str, model=None, tokenizer=None, transport=None):
    """`teacher` is "local" (the given or the configured base model) or an OpenAI-compatible URL."""
    if teacher != "local":
        url = checked_teacher(teacher)
        return ApiTeacher(url, cfg.data.synthetic.teacher_model, cfg.evaluation.api_key_env, transport)
    if model is None:
        from honed.models.load import load_with_status

        model, tokenizer = load_with_status(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)
    return LocalTeacher(model, tokenizer, cfg.model.base, cfg.data.synthetic.seed)
