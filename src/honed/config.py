"""The project config, `honed.yaml`: typed, validated, every error reported at once.

Each section is a pydantic model that forbids unknown keys; field descriptions double as documentation
(`honed init` writes them as comments). `load_config` reads YAML, applies `key=value` overrides and turns
every validation problem into one HonedError that names the key path and, where it can, the intended key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from honed.errors import HonedError, did_you_mean

TaskKind = Literal["classification", "extraction", "generation"]
DataFormat = Literal["auto", "chat", "sharegpt", "alpaca", "prompt_completion", "classification", "preference", "text"]
MethodKind = Literal["full", "lora", "dora", "qlora", "ia3", "prefix", "prompt"]
METRICS_BY_TASK = {
    "classification": ("accuracy", "f1_macro", "f1_micro", "precision_macro", "recall_macro"),
    "extraction": ("exact_match", "token_f1", "field_f1", "schema_valid_rate"),
    "generation": ("rougeL", "rouge1", "rouge2", "bleu", "chrf", "exact_match", "token_f1"),
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Objective(Section):
    task: TaskKind = Field("classification", description="classification | extraction | generation")
    metric: str = Field("accuracy", description="primary metric, e.g. accuracy, f1_macro, token_f1, rougeL")
    target: float = Field(0.8, ge=0, le=1, description="success threshold for the primary metric (0..1)")
    labels: list[str] = Field(default_factory=list, description="label set (classification); empty = from data")

    @model_validator(mode="after")
    def _metric_fits_task(self) -> "Objective":
        allowed = METRICS_BY_TASK[self.task]
        if self.metric not in allowed:
            raise ValueError(
                f"metric `{self.metric}` does not fit task `{self.task}`{did_you_mean(self.metric, allowed)}; "
                f"choose one of {', '.join(allowed)}"
            )
        return self


class Split(Section):
    train: float = Field(0.8, gt=0, lt=1)
    validation: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, gt=0, lt=1)
    seed: int = 13

    @model_validator(mode="after")
    def _sums_to_one(self) -> "Split":
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must sum to 1, got {total:g}")
        return self


class Data(Section):
    train: list[str] = Field(default_factory=list, description="data files (JSONL/JSON/CSV/Parquet), relative to honed.yaml")
    validation: str | None = Field(None, description="optional existing validation file (respected as is)")
    test: str | None = Field(None, description="optional existing test file (respected as is)")
    format: DataFormat = "auto"
    text_column: str = Field("text", description="classification: column holding the input text")
    label_column: str = Field("label", description="classification: column holding the label")
    instruction: str = Field("", description="system prompt used for every candidate (baselines and fine-tune)")
    split: Split = Field(default_factory=Split)
    redact_pii: bool = True
    dedup_threshold: float = Field(0.8, gt=0, le=1, description="word-5-gram Jaccard at which rows collapse")
    min_chars: int = Field(1, ge=0)
    max_chars: int = Field(20000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _one_file_is_a_list(cls, values: Any) -> Any:
        if isinstance(values, dict) and isinstance(values.get("train"), str):
            values = {**values, "train": [values["train"]]}
        return values


class ModelRef(Section):
    base: str = Field("smollm2-135m-instruct", description="smollm2-135m-instruct | tiny-random | HF dir | .gguf | hub id")
    max_length: int = Field(512, ge=16, description="longest example in tokens; longer ones are reported, not cut")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


class Method(Section):
    kind: MethodKind = "lora"
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    use_rslora: bool = False
    num_virtual_tokens: int = Field(16, ge=1, description="prefix / prompt tuning only")

    @model_validator(mode="before")
    @classmethod
    def _one_module_is_a_list(cls, values: Any) -> Any:
        tm = values.get("target_modules") if isinstance(values, dict) else None
        if isinstance(tm, str) and tm != "all-linear":
            values = {**values, "target_modules": [m.strip() for m in tm.split(",") if m.strip()]}
        return values


class Training(Section):
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    max_train_examples: int | None = Field(None, ge=1, description="train on a seeded subsample of this size")
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    eval_every: int = Field(0, ge=0, description="validation loss every N steps (0 = each epoch end only)")
    early_stopping_patience: int = Field(0, ge=0, description="stop after N evaluations without improvement (0 = off)")
    gradient_checkpointing: bool = False
    seed: int = 13
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list)


class Evaluation(Section):
    baselines: list[Literal["zero_shot", "few_shot"]] = Field(default_factory=lambda: ["zero_shot", "few_shot"])
    few_shot_k: int = Field(3, ge=1)
    max_new_tokens: int = Field(16, ge=1)
    max_test_examples: int | None = Field(None, ge=1, description="evaluate on a seeded subsample of the test split")
    batch_size: int = Field(16, ge=1)
    label_scoring: bool = Field(True, description="classification: also score each label's log-likelihood")
    bootstrap_samples: int = Field(1000, ge=100)


class Config(Section):
    project: str = "honed-project"
    objective: Objective = Field(default_factory=Objective)
    data: Data = Field(default_factory=Data)
    model: ModelRef = Field(default_factory=ModelRef)
    method: Method = Field(default_factory=Method)
    train: Training = Field(default_factory=Training)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    # Where the config file lives; data paths resolve against it. Not a YAML key.
    root: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# --- loading ------------------------------------------------------------------------------------------------


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read `path`, apply `key=value` overrides, validate; raise one HonedError listing every problem."""
    path = Path(path)
    raw = _read_yaml(path)
    for item in overrides:
        _apply_override(raw, item)
    return validate_config(raw, root=path.resolve().parent, source=str(path))


def validate_config(raw: dict, *, root: Path = Path("."), source: str = "config") -> Config:
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise HonedError(
            f"{source} has {len(problems)} problem{'s' * (len(problems) != 1)}",
            "edit the keys named above (see `honed init` for a commented example)",
            details=problems,
        ) from None
    cfg.root = root
    return cfg


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise HonedError(f"config file `{path}` does not exist", "pass the path of a honed.yaml, or create one with `honed init`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise HonedError(f"`{path}` is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                         "fix the YAML syntax (indentation, colons, quotes)") from None
    if not isinstance(data, dict):
        raise HonedError(f"`{path}` must hold a mapping of sections, got {type(data).__name__}",
                         "start from `honed init` and keep `objective:`, `data:`, `model:` … at the top level")
    return data


def _apply_override(raw: dict, item: str) -> None:
    """`train.epochs=2` sets raw['train']['epochs'] = 2 (the value is parsed as YAML)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise HonedError(f"override `{item}` is not of the form key=value", "write e.g. `train.epochs=2`")
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise HonedError(f"override `{item}`: `{part}` is not a section", "override a leaf key such as `train.epochs`")
    node[parts[-1]] = yaml.safe_load(value) if value.strip() else ""


def _describe(err: dict) -> str:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        section = _section_at(loc[:-1])
        known = list(section.model_fields) if section else []
        known = [k for k in known if k != "root"]
        return f"unknown key `{key}`{did_you_mean(loc[-1], known)}; known keys here: {', '.join(known)}"
    msg = err["msg"].removeprefix("Value error, ")
    given = err.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return f"`{key}`: {msg}{shown}"


def _section_at(loc: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
