"""`method.kind` → a PEFT config (or none, for full fine-tuning)."""
from __future__ import annotations

from honed.core.config import Method
from honed.core.errors import HonedError


def peft_config_for(method: Method):
    """The PEFT config that implements `method`, or None for full fine-tuning."""
    import peft

    targets = method.target_modules
    if method.kind == "full":
        return None
    if method.kind in ("lora", "dora", "qlora"):
        return peft.LoraConfig(r=method.r, lora_alpha=method.alpha, lora_dropout=method.dropout,
                               target_modules=targets, use_rslora=method.use_rslora,
                               use_dora=method.kind == "dora", task_type="CAUSAL_LM")
    if method.kind == "ia3":
        modules = ["k_proj", "v_proj", "down_proj"] if targets == "all-linear" else targets
        feedforward = [m for m in modules if m in ("down_proj", "fc2", "mlp.down_proj")]
        return peft.IA3Config(target_modules=modules, feedforward_modules=feedforward, task_type="CAUSAL_LM")
    if method.kind == "prefix":
        return peft.PrefixTuningConfig(num_virtual_tokens=method.num_virtual_tokens, task_type="CAUSAL_LM")
    if method.kind == "prompt":
        return peft.PromptTuningConfig(num_virtual_tokens=method.num_virtual_tokens, task_type="CAUSAL_LM")
    raise HonedError(f"unknown method `{method.kind}`", "use full, lora, dora, qlora, ia3, prefix or prompt")


def quantization_config_for(method: Method):
    """QLoRA: 4-bit NF4 with double quantisation. Needs a CUDA GPU and bitsandbytes."""
    if method.kind != "qlora":
        return None
    import torch

    if not torch.cuda.is_available():
        raise HonedError("QLoRA needs a CUDA GPU (bitsandbytes 4-bit kernels); this machine has none",
                         "use `method.kind=lora` on CPU, or run on a machine with an NVIDIA GPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise HonedError("QLoRA needs bitsandbytes", "run `pip install bitsandbytes`") from None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def load_for_training(cfg):
    """(model, tokenizer) for `cfg.model.base`, loaded the way `cfg.method` needs: QLoRA loads the base in 4-bit
    NF4 (GPU only) and prepares it for k-bit training; every other method uses the ordinary loader."""
    quantization = quantization_config_for(cfg.method)  # a clear error on CPU, before any loading
    if quantization is None:
        from honed.models.load import load_with_status
        from honed.models.templates import apply_chat_template_setting

        model, tokenizer = load_with_status(cfg.model.base, cfg.model.dtype, seed=cfg.train.seed)
        apply_chat_template_setting(model, tokenizer, cfg.model.chat_template, cfg.root)
        return model, tokenizer
    import peft
    from transformers import AutoModelForCausalLM

    from honed.models import load

    source = load.resolve_model(cfg.model.base)
    if source.kind == "tiny":
        raise HonedError("QLoRA needs pretrained weights to quantise; `tiny-random` is built in memory",
                         "use `method.kind=lora` with tiny-random")
    location = source.location
    if source.kind in ("builtin-gguf", "gguf"):  # quantise the de-quantised safetensors cache
        load.load_model(cfg.model.base)
        location = str(load._cached_dir(source, "model"))
    tokenizer = load.load_tokenizer(cfg.model.base)
    model = AutoModelForCausalLM.from_pretrained(location, quantization_config=quantization, device_map={"": 0},
                                                 dtype=quantization.bnb_4bit_compute_dtype)
    from honed.models.templates import apply_chat_template_setting

    apply_chat_template_setting(model, tokenizer, cfg.model.chat_template, cfg.root)
    model = peft.prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.train.gradient_checkpointing)
    return model, tokenizer


def check_model_fits_method(model, method: Method) -> None:
    """QLoRA must start from a 4-bit model; anything else would silently train plain LoRA."""
    if method.kind == "qlora" and not getattr(model, "is_loaded_in_4bit", False):
        quantization_config_for(method)  # on CPU this raises the clear no-GPU error
        raise HonedError("`method.kind: qlora` got a model that is not loaded in 4-bit",
                         "load it with `honed.train.methods.load_for_training(cfg)` (as `honed train` does)")
