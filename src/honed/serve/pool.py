"""What `honed serve MODEL…` serves: one base model, loaded once, plus any number of LoRA adapters over it.

A MODEL argument is a model reference (`tiny-random`, `smollm2-135m-instruct`, a HF directory such as a merged
export) or a run directory (`adapter/` + `config.yaml` naming `model.base`); `name=…` sets the name clients put
in the `model` field (default: the reference as given, or the run directory's name).

A `Resolver` (given by the layers above: serve knows nothing of the registry) turns other arguments, such as
`tiny@production`, into a run directory, the concrete version it is (`tiny:3`) and whether it may move; a model
that may move is served under the name asked for and followed (honed.serve.follow).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from honed.core.errors import HonedError, did_you_mean

# target → None (not the resolver's), or (run directory, concrete version label, may move: follow it)
Resolver = Callable[[str], "tuple[Path, str, bool] | None"]


@dataclass(frozen=True)
class Spec:
    name: str
    base: str  # model reference of the base
    adapter: Path | None = None  # PEFT adapter directory, for run directories
    version: str | None = None  # the run id, when the run recorded one
    seed: int = 0
    dtype: str = "auto"
    follows: str | None = None  # the reference to re-resolve (e.g. `tiny@production`), when it may move


@dataclass(frozen=True)
class ServedModel:
    name: str
    adapter_key: str  # PEFT adapter name inside the shared model, or BASE_ADAPTER
    source: str  # adapter directory or base reference: what the request log records
    version: str | None
    follows: str | None = None


@dataclass
class ModelPool:
    model: object
    tokenizer: object
    base: str
    served: dict[str, ServedModel] = field(default_factory=dict)
    adapters_loaded: int = 0  # keys handed out so far: a key is never reused
    seed: int = 0  # of the base (tiny-random's weights depend on it)

    @property
    def uses_adapters(self) -> bool:
        return any(m.source != self.base for m in self.served.values())

    @property
    def context_length(self) -> int:
        config = self.model.config
        return int(getattr(config, "max_position_embeddings", None) or 2048)

    def lookup(self, name: str) -> ServedModel | None:
        return self.served.get(name)

    def attach(self, spec: Spec) -> ServedModel:
        """Load `spec`'s adapter under a fresh key (the caller owns the model: the batcher's worker, or startup)."""
        key = f"adapter{self.adapters_loaded}"  # PEFT names become module keys: no dots or slashes allowed
        self.adapters_loaded += 1
        self.model = _attach(self.model, spec.adapter, key)
        self.model.eval()
        return ServedModel(spec.name, key, str(spec.adapter), spec.version, spec.follows)

    def detach(self, key: str) -> None:
        self.model.delete_adapter(key)

    def cannot_swap_in(self, spec: Spec) -> str | None:
        """Why `spec` cannot replace a model of this pool in place (None when it can)."""
        if spec.adapter is None:
            return f"`{spec.name}` is not an adapter run (only LoRA versions over the served base swap in place)"
        if spec.base != self.base or (spec.base == "tiny-random" and spec.seed != self.seed):
            return f"it is trained on `{spec.base}` (seed {spec.seed}), while this server holds `{self.base}`"
        return None


def parse_spec(argument: str, resolve: Resolver | None = None) -> Spec:
    name, sep, target = argument.partition("=")
    if not sep or "/" in name:
        name, target = "", argument
    found = resolve(target) if resolve is not None else None
    if found is not None:  # e.g. tiny@production: served by the name asked for, as the version it is now
        run_dir, version, moves = found
        spec = _run_spec(name or target, Path(run_dir))
        return replace(spec, version=version, follows=target if moves else None)
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


def load_pool(arguments: list[str], resolve: Resolver | None = None) -> ModelPool:
    """Load the shared base once and attach every adapter under its own name."""
    from honed.models.load import load_model
    from honed.serve.engine import BASE_ADAPTER

    specs = [parse_spec(a, resolve) for a in arguments]
    check_specs(specs)
    first = specs[0]
    model, tokenizer = load_model(first.base, first.dtype, seed=first.seed)
    pool = ModelPool(model, tokenizer, first.base, seed=first.seed)
    base_names = [s.name for s in specs if s.adapter is None] or [first.base]
    for name in base_names:
        pool.served[name] = ServedModel(name, BASE_ADAPTER, first.base, None)
    for spec in (s for s in specs if s.adapter is not None):
        pool.served[spec.name] = pool.attach(spec)
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
