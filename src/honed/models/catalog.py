"""A catalog of popular open base models: size, context, license and the architecture numbers the memory
planner needs. Figures come from each model's published `config.json` and model card; `params` is the
published parameter count, and `count_parameters` recomputes it from the architecture (a test keeps them in
agreement, so a typo in a shape shows up).
"""
from __future__ import annotations

from dataclasses import dataclass

from honed.core.errors import HonedError, did_you_mean


@dataclass(frozen=True)
class BaseModel:
    name: str
    hub_id: str
    params: float  # published total parameter count
    context: int
    license: str
    architecture: str  # transformers model type
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied_embeddings: bool = False
    head_dim: int | None = None  # when it differs from hidden / heads
    experts: int = 1  # mixture of experts: experts per layer …
    active_experts: int = 1  # … and how many each token uses
    qkv_bias: bool = False
    norms_per_layer: int = 2

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def linear_params_per_layer(self) -> int:
        """Parameters of the linear layers in one block (what LoRA adapts and QLoRA quantises)."""
        q = self.hidden * self.heads * self.dim_head
        kv = 2 * self.hidden * self.kv_heads * self.dim_head
        o = self.heads * self.dim_head * self.hidden
        mlp = 3 * self.hidden * self.intermediate * self.experts
        router = self.hidden * self.experts if self.experts > 1 else 0
        return q + kv + o + mlp + router

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def count_parameters(self) -> int:
        """Total parameters recomputed from the shapes above."""
        bias = (self.heads + 2 * self.kv_heads) * self.dim_head if self.qkv_bias else 0
        per_layer = self.linear_params_per_layer + bias + self.norms_per_layer * self.hidden
        return self.layers * per_layer + self.embedding_params + self.hidden


def _m(*args, **kwargs) -> BaseModel:
    return BaseModel(*args, **kwargs)


LLAMA31 = "Llama 3.1 Community License"
LLAMA32 = "Llama 3.2 Community License"
GEMMA = "Gemma Terms of Use"
APACHE = "Apache-2.0"

CATALOG: dict[str, BaseModel] = {m.name: m for m in (
    _m("llama-3.2-1b", "meta-llama/Llama-3.2-1B", 1.24e9, 131072, LLAMA32, "llama", 2048, 16, 32, 8, 8192, 128256,
       tied_embeddings=True, head_dim=64),
    _m("llama-3.2-3b", "meta-llama/Llama-3.2-3B", 3.21e9, 131072, LLAMA32, "llama", 3072, 28, 24, 8, 8192, 128256,
       tied_embeddings=True, head_dim=128),
    _m("llama-3.1-8b", "meta-llama/Llama-3.1-8B", 8.03e9, 131072, LLAMA31, "llama", 4096, 32, 32, 8, 14336, 128256),
    _m("llama-3.1-70b", "meta-llama/Llama-3.1-70B", 70.6e9, 131072, LLAMA31, "llama", 8192, 80, 64, 8, 28672,
       128256),
    _m("mistral-7b", "mistralai/Mistral-7B-v0.3", 7.25e9, 32768, APACHE, "mistral", 4096, 32, 32, 8, 14336, 32768),
    _m("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1", 46.7e9, 32768, APACHE, "mixtral", 4096, 32, 32, 8, 14336,
       32000, experts=8, active_experts=2),
    _m("gemma-2-2b", "google/gemma-2-2b", 2.61e9, 8192, GEMMA, "gemma2", 2304, 26, 8, 4, 9216, 256000,
       tied_embeddings=True, head_dim=256, norms_per_layer=4),
    _m("gemma-2-9b", "google/gemma-2-9b", 9.24e9, 8192, GEMMA, "gemma2", 3584, 42, 16, 8, 14336, 256000,
       tied_embeddings=True, head_dim=256, norms_per_layer=4),
    _m("gemma-2-27b", "google/gemma-2-27b", 27.2e9, 8192, GEMMA, "gemma2", 4608, 46, 32, 16, 36864, 256000,
       tied_embeddings=True, head_dim=128, norms_per_layer=4),
    _m("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B", 0.494e9, 32768, APACHE, "qwen2", 896, 24, 14, 2, 4864, 151936,
       tied_embeddings=True, qkv_bias=True),
    _m("qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B", 1.54e9, 32768, APACHE, "qwen2", 1536, 28, 12, 2, 8960, 151936,
       tied_embeddings=True, qkv_bias=True),
    _m("qwen2.5-3b", "Qwen/Qwen2.5-3B", 3.09e9, 32768, "Qwen Research License", "qwen2", 2048, 36, 16, 2, 11008,
       151936, tied_embeddings=True, qkv_bias=True),
    _m("qwen2.5-7b", "Qwen/Qwen2.5-7B", 7.62e9, 131072, APACHE, "qwen2", 3584, 28, 28, 4, 18944, 152064,
       qkv_bias=True),
    _m("qwen2.5-14b", "Qwen/Qwen2.5-14B", 14.7e9, 131072, APACHE, "qwen2", 5120, 48, 40, 8, 13824, 152064,
       qkv_bias=True),
    _m("smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct", 0.1348e9, 8192, APACHE, "llama", 576, 30, 9, 3, 1536,
       49152, tied_embeddings=True),
    _m("smollm2-360m", "HuggingFaceTB/SmolLM2-360M-Instruct", 0.362e9, 8192, APACHE, "llama", 960, 32, 15, 5, 2560,
       49152, tied_embeddings=True),
    _m("smollm2-1.7b", "HuggingFaceTB/SmolLM2-1.7B-Instruct", 1.71e9, 8192, APACHE, "llama", 2048, 24, 32, 32, 8192,
       49152, tied_embeddings=True),
    _m("phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct", 3.82e9, 131072, "MIT", "phi3", 3072, 32, 32, 32, 8192,
       32064),
    _m("phi-4", "microsoft/phi-4", 14.7e9, 16384, "MIT", "phi3", 5120, 40, 40, 10, 17920, 100352),
)}

ALIASES = {"smollm2-135m-instruct": "smollm2-135m"}


def find_base(reference: str) -> BaseModel | None:
    """The catalog entry for a name, an alias or a hub id (case-insensitive), or None."""
    key = reference.lower()
    key = ALIASES.get(key, key)
    if key in CATALOG:
        return CATALOG[key]
    return next((m for m in CATALOG.values() if m.hub_id.lower() == key
                 or m.hub_id.lower().removesuffix("-instruct") == key.removesuffix("-instruct")), None)


def get_base(reference: str) -> BaseModel:
    found = find_base(reference)
    if found is None:
        raise HonedError(f"`{reference}` is not in the base-model catalog{did_you_mean(reference, list(CATALOG))}",
                         f"use one of: {', '.join(CATALOG)}")
    return found


def base_from_hf_config(name: str, config) -> BaseModel:
    """A catalog-style entry from a loaded transformers config (local directories, tiny-random)."""
    total = getattr(config, "num_local_experts", 1) or 1
    entry = BaseModel(
        name=name, hub_id=name, params=0.0, context=getattr(config, "max_position_embeddings", 0), license="unknown",
        architecture=config.model_type, hidden=config.hidden_size, layers=config.num_hidden_layers,
        heads=config.num_attention_heads, kv_heads=getattr(config, "num_key_value_heads", config.num_attention_heads),
        intermediate=config.intermediate_size, vocab=config.vocab_size,
        tied_embeddings=bool(getattr(config, "tie_word_embeddings", False)), head_dim=getattr(config, "head_dim", None),
        experts=total, active_experts=getattr(config, "num_experts_per_tok", 1) or 1,
    )
    return BaseModel(**{**entry.__dict__, "params": float(entry.count_parameters())})
