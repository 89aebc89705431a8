"""What `honed serve MODEL…` serves: one base model, loaded once, plus any number of LoRA adapters over it.

A MODEL argument is a model reference (`tiny-random`, `smollm2-135m-instruct`, a HF directory such as a merged
export) or a run directory (`adapter/` + `config.yaml` naming `model.base`); `name=…` sets the name clients put
in the `model` field (default: the reference as given, or the run directory's name).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from honed.core.errors import HonedError, did_you_mean


@dataclass(frozen=True)
class Spec:
    name: str
    base: str  # model reference of the base
    adapter: Path | None = None  # PEFT adapter directory, for run directories
    version: str | None = None  # the run id, when the run recorded one
    seed: int = 0
    dtype: str = "auto"


@dataclass
class ServedModel:
    name: str
    adapter_key: str  # PEFT adapter name inside the shared model, or BASE_ADAPTER
    source: str  # adapter directory or base reference: what the request log records
    version: str | None


@dataclass
class ModelPool:
    model: object
    tokenizer: object
    base: str
    served: dict[str, ServedModel] = field(default_factory=dict)

    @property
    def uses_adapters(self) -> bool:
        return any(m.source != self.base for m in self.served.values())

    @property
    def context_length(self) -> int:
        config = self.model.config
        return int(getattr(config, "max_position_embeddings", None) or 2048)

    def lookup(self, name: str) -> ServedModel | None:
        return self.served.get(name)


def parse_spec(argument: str) -> Spec:
    name, sep, target = argument.partition("=")
    if not sep or "/" in name:
        name, target = "", argument
    path = Path(target).expanduser()
    if (path / "adapter").is_dir():
        return _run_spec(name or path.resolve().name, path)
    if path.is_dir() and (path / "adapter_config.json").is_file():
        raise HonedError(f"`{target}` is a bare adapter directory", f"pass the run directory around it "
                         f"(`{path.parent}`), which records the base model in config.yaml")
    from honed.models.load import resolve_model

    resolve_model(target)  # a clear error for a reference that points nowhere
    return Spec(name or target, target)


def _run_spec(name: str, run_dir: Path) -> Spec:
    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise HonedError(f"run directory `{run_dir}` has no config.yaml naming its base model",
                         "pass a run directory written by `honed train`")
    import yaml

    from honed.core.config import ModelRef, Training

    raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    model, train = raw.get("model") or {}, raw.get("train") or {}
    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise HonedError(f"`{adapter}` is not a PEFT adapter (no adapter_config.json)",
                         "serve a fully fine-tuned model by its directory, or export it with `honed export`")
    meta = run_dir / "meta.json"
    version = json.loads(meta.read_text()).get("run_id") if meta.is_file() else None
    return Spec(name, model.get("base", ModelRef.model_fields["base"].default), adapter.resolve(), version,
                int(train.get("seed", Training.model_fields["seed"].default)),
                model.get("dtype", ModelRef.model_fields["dtype"].default))


def check_specs(specs: list[Spec]) -> None:
    """One base for all, unique names: anything else is a usage error."""
    if not specs:
        raise HonedError("no model to serve", "pass a model reference, e.g. `honed serve tiny-random`")
    bases = {(s.base, s.seed if s.base == "tiny-random" else 0) for s in specs}
    if len(bases) > 1:
        raise HonedError("the models given do not share one base: " + ", ".join(sorted({s.base for s in specs})),
                         "serve adapters of one base per server (start one server per base)")
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise HonedError(f"two models would be served as `{duplicated[0]}`", "name them: `honed serve a=RUN1 b=RUN2`")


def load_pool(arguments: list[str]) -> ModelPool:
    """Load the shared base once and attach every adapter under its own name."""
    from honed.models.load import load_model
    from honed.serve.engine import BASE_ADAPTER

    specs = [parse_spec(a) for a in arguments]
    check_specs(specs)
    first = specs[0]
    model, tokenizer = load_model(first.base, first.dtype, seed=first.seed)
    pool = ModelPool(model, tokenizer, first.base)
    base_names = [s.name for s in specs if s.adapter is None] or [first.base]
    for name in base_names:
        pool.served[name] = ServedModel(name, BASE_ADAPTER, first.base, None)
    for index, spec in enumerate(s for s in specs if s.adapter is not None):
        key = f"adapter{index}"  # PEFT names become module keys: no dots or slashes allowed
        pool.model = _attach(pool.model, spec.adapter, key)
        pool.served[spec.name] = ServedModel(spec.name, key, str(spec.adapter), spec.version)
    pool.model.eval()
    return pool


def _attach(model, adapter: Path, key: str):
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model.load_adapter(str(adapter), adapter_name=key)
        return model
    return PeftModel.from_pretrained(model, str(adapter), adapter_name=key)


def unknown_model_message(name: str, pool_names: list[str]) -> str:
    return f"model `{name}` is not served here{did_you_mean(name, pool_names)}; served: {', '.join(pool_names)}"
