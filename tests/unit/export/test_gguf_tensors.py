"""The GGUF writer's own numeric conventions: q/k row order (undone by transformers' loader) and tensor types."""
from __future__ import annotations

import gguf
import numpy as np
import pytest

from honed.core.errors import HonedError
from honed.export.gguf_writer import QUANTS, check_quant, permute_rotary, quantize_tensor


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 2), (9, 3)])
def test_transformers_gguf_loader_undoes_the_rotary_permutation(heads, kv_heads):
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    head_dim, hidden = 16, 64
    processor = LlamaTensorProcessor(config={"num_attention_heads": heads, "num_key_value_heads": kv_heads})
    rng = np.random.default_rng(0)
    for name, rows, n_kv in (("blk.0.attn_q.weight", heads * head_dim, heads),
                             ("blk.0.attn_k.weight", kv_heads * head_dim, kv_heads)):
        weights = rng.standard_normal((rows, hidden)).astype(np.float32)
        permuted = permute_rotary(weights, heads, n_kv)
        assert not np.array_equal(permuted, weights)
        assert np.array_equal(processor.process(permuted, name).weights, weights)


def test_tensor_types_follow_llama_cpp_rules():
    rng = np.random.default_rng(1)
    norm = rng.standard_normal(64).astype(np.float32)
    assert quantize_tensor(norm, QUANTS["q8_0"])[1] == gguf.GGMLQuantizationType.F32
    matrix = rng.standard_normal((8, 64)).astype(np.float32)
    data, qtype = quantize_tensor(matrix, QUANTS["q8_0"])
    assert qtype == gguf.GGMLQuantizationType.Q8_0
    assert np.abs(gguf.quants.dequantize(data, qtype) - matrix).max() < 0.05
    odd = rng.standard_normal((8, 48)).astype(np.float32)  # 48 is no multiple of Q8_0's 32-wide blocks
    assert quantize_tensor(odd, QUANTS["q8_0"])[1] == gguf.GGMLQuantizationType.F16
    for name in ("bf16", "q4_0", "q5_1"):
        data, qtype = quantize_tensor(matrix, QUANTS[name])
        assert np.abs(gguf.quants.dequantize(data, qtype) - matrix).max() < 0.5


def test_unknown_quant_names_the_choices():
    with pytest.raises(HonedError) as err:
        check_quant("q4_k_m")
    assert "q8_0" in err.value.fix and "llama-quantize" in err.value.fix
