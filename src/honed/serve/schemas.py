"""OpenAI request bodies as pydantic models: an invalid field becomes a 400 naming it, never a silent default.

Unknown fields are ignored (clients send options honed does not implement, such as `user` or `logprobs`).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_STOPS = 4  # as OpenAI


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(Lenient):
    type: Literal["text"]
    text: str


class Message(Lenient):
    role: Literal["system", "user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class StreamOptions(Lenient):
    include_usage: bool = False


class Sampling(Lenient):
    """The sampling fields shared by both completion endpoints."""

    model: str = Field(min_length=1)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=16)
    stream: bool = False
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value):
        stops = [value] if isinstance(value, str) else list(value or [])
        if len(stops) > MAX_STOPS or any(not s for s in stops):
            raise ValueError(f"stop takes up to {MAX_STOPS} non-empty strings")
        return stops

    def stops(self) -> tuple[str, ...]:
        return tuple(self.stop or ())

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def sampling_settings(self) -> dict:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.token_limit(),
                "stop": self.stops(), "seed": self.seed, "n": self.n}


class ChatRequest(Sampling):
    messages: list[Message] = Field(min_length=1)

    def conversation(self) -> list[dict]:
        return [{"role": m.role, "content": m.text()} for m in self.messages]


class CompletionRequest(Sampling):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value):
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("honed takes one prompt per request (send several requests; they are batched)")
            return value[0]
        return value


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    rating: int = Field(ge=-1, le=5, description="+1 / -1 (thumbs) or 1–5 (stars); 0 = neutral")
    correction: str | None = None
    comment: str | None = None
