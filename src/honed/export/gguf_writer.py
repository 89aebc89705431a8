"""A merged Llama-family model → one GGUF file, written with the `gguf` library (llama.cpp's own Python package).

Tensor names come from gguf's tensor-name map, quantisation from gguf.quants, and the metadata keys are the ones
llama.cpp reads. The only numeric convention honed must reproduce itself is llama.cpp's row order for the query
and key projections (see `permute_rotary`); transformers' GGUF loader undoes it, which the round-trip tests check.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from honed.core.errors import HonedError
from honed.export.tokens import end_of_turn_token, end_token_ids

# Architectures llama.cpp runs as "llama" (same tensors, same rotary layout).
LLAMA_FAMILY = ("llama", "mistral")


@dataclass(frozen=True)
class QuantChoice:
    name: str
    tensor_type: str  # gguf.GGMLQuantizationType member name
    file_type: str  # gguf.LlamaFileType member name


QUANTS = {q.name: q for q in (
    QuantChoice("f32", "F32", "ALL_F32"), QuantChoice("f16", "F16", "MOSTLY_F16"),
    QuantChoice("bf16", "BF16", "MOSTLY_BF16"), QuantChoice("q8_0", "Q8_0", "MOSTLY_Q8_0"),
    QuantChoice("q5_1", "Q5_1", "MOSTLY_Q5_1"), QuantChoice("q5_0", "Q5_0", "MOSTLY_Q5_0"),
    QuantChoice("q4_1", "Q4_1", "MOSTLY_Q4_1"), QuantChoice("q4_0", "Q4_0", "MOSTLY_Q4_0"),
)}


def check_quant(quant: str) -> QuantChoice:
    if quant not in QUANTS:
        raise HonedError(f"unsupported GGUF quantisation `{quant}`",
                         f"use one of: {', '.join(QUANTS)} (k-quants: run llama.cpp's `llama-quantize` on the f16 file)")
    return QUANTS[quant]


def write_gguf(model, tokenizer, path: Path, quant: str = "f16", *, name: str = "model",
               base: str | None = None, licence: str | None = None) -> Path:
    """Write `model` (a merged, float Llama-family model) and its tokenizer to `path`; returns `path`."""
    import gguf

    choice = check_quant(quant)
    config = model.config
    if config.model_type not in LLAMA_FAMILY:
        raise HonedError(f"GGUF export supports the Llama family ({', '.join(LLAMA_FAMILY)}); this model is "
                         f"`{config.model_type}`", "export `--format merged` and convert it with llama.cpp's "
                         "convert_hf_to_gguf.py")
    tmp = path.with_name(f".{path.name}.partial")
    writer = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    add_general(writer, name, base, licence, choice)
    add_architecture(writer, config)
    add_tokenizer(writer, tokenizer, config.vocab_size, base)
    for gguf_name, array, tensor_type in gguf_tensors(model, choice):
        writer.add_tensor(gguf_name, array, raw_dtype=tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def add_general(writer, name: str, base: str | None, licence: str | None, choice: QuantChoice) -> None:
    import gguf

    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_description("fine-tuned with honed")
    if base:
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, base)
    if licence:
        writer.add_license(licence)
    writer.add_file_type(getattr(gguf.LlamaFileType, choice.file_type))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def add_architecture(writer, config) -> None:
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    rope = getattr(config, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise HonedError(f"rope scaling `{rope.get('rope_type')}` is not supported by honed's GGUF writer",
                         "export `--format merged` and convert it with llama.cpp's convert_hf_to_gguf.py")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(heads)
    writer.add_head_count_kv(getattr(config, "num_key_value_heads", None) or heads)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim)
    if head_dim != config.hidden_size // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)


def add_tokenizer(writer, tokenizer, vocab_size: int, base: str | None) -> None:
    """Byte-level BPE ("gpt2" in llama.cpp): tokens, types, merges, special ids and the chat template."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    if backend.get("model", {}).get("type") != "BPE":
        raise HonedError("GGUF export supports byte-level BPE tokenizers only",
                         "export `--format merged` and convert it with llama.cpp's convert_hf_to_gguf.py")
    tokens, types = vocabulary(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer_name(backend, base))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in backend["model"]["merges"]])
    ends = end_token_ids(tokenizer)
    # llama.cpp stops at eos and eot; transformers' GGUF loader reads eos only, so eos is the end-of-turn.
    writer.add_eos_token_id(ends[0])
    eot = end_of_turn_token(tokenizer)
    if eot is not None:
        writer.add_eot_token_id(tokenizer.convert_tokens_to_ids(eot))
    for add, token_id in ((writer.add_bos_token_id, tokenizer.bos_token_id),
                          (writer.add_unk_token_id, tokenizer.unk_token_id),
                          (writer.add_pad_token_id, tokenizer.pad_token_id)):
        if token_id is not None:
            add(token_id)
    probe = tokenizer("a")["input_ids"]
    writer.add_add_bos_token(bool(probe) and probe[0] == tokenizer.bos_token_id)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def vocabulary(tokenizer, vocab_size: int) -> tuple[list[str], list[int]]:
    """Every id's token and llama.cpp token type; ids the tokenizer lacks become unused `[PADn]` slots."""
    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    return tokens, [int(t) for t in types]


def pre_tokenizer_name(backend: dict, base: str | None) -> str:
    """llama.cpp's name for how text is split before BPE: the base GGUF's own when the base was a GGUF, else
    "gpt2" for plain byte-level splitting, else "default"."""
    from honed.models.load import resolve_model

    try:
        source = resolve_model(base) if base else None
    except HonedError:
        source = None
    if source is not None and source.gguf_file:
        import gguf

        field = gguf.GGUFReader(Path(source.location) / source.gguf_file).get_field("tokenizer.ggml.pre")
        if field is not None:
            return str(field.contents())
    pre = backend.get("pre_tokenizer") or {}
    return "gpt2" if pre.get("type") == "ByteLevel" and pre.get("use_regex", True) else "default"


def gguf_tensors(model, choice: QuantChoice):
    """(gguf name, array, ggml type) for every weight, q/k rows permuted the way llama.cpp expects."""
    import gguf
    import torch

    config = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # tied: llama.cpp reuses token_embd
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise HonedError(f"no GGUF name for tensor `{hf_name}`", "export `--format merged` instead")
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = permute_rotary(data, heads, heads)
        elif hf_name.endswith("k_proj.weight"):
            data = permute_rotary(data, heads, kv_heads)
        yield name, *quantize_tensor(data, choice)


def permute_rotary(weights, n_head: int, n_head_kv: int):
    """HF stores each head's rotary pairs as two halves; llama.cpp interleaves them (convert_hf_to_gguf's
    `LlamaModel.permute`)."""
    heads = n_head_kv if n_head_kv != n_head else n_head
    return (weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def quantize_tensor(data, choice: QuantChoice):
    """Norms and other 1-D tensors stay float32 (as llama.cpp does); rows that do not fill whole quant blocks
    fall back to f16."""
    import gguf
    import numpy as np

    qtype = getattr(gguf.GGMLQuantizationType, choice.tensor_type)
    if data.ndim < 2:
        return data.astype(np.float32), gguf.GGMLQuantizationType.F32
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    if data.shape[-1] % block:
        qtype = gguf.GGMLQuantizationType.F16
    return gguf.quants.quantize(data, qtype), qtype
