"""The base-model catalog: published sizes agree with the architectures, lookups and errors."""
from __future__ import annotations

import pytest

from honed.core.errors import HonedError
from honed.models.catalog import CATALOG, find_base, get_base

FAMILIES = ("llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "llama-3.1-70b", "mistral-7b", "mixtral-8x7b",
            "gemma-2-2b", "gemma-2-9b", "qwen2.5-7b", "smollm2-135m", "phi-3.5-mini")


def test_the_popular_bases_are_there_with_license_and_context():
    for name in FAMILIES:
        entry = CATALOG[name]
        assert entry.license and entry.context >= 8192 and entry.architecture


@pytest.mark.parametrize("name", list(CATALOG))
def test_published_size_matches_the_architecture(name):
    entry = CATALOG[name]
    assert entry.count_parameters() == pytest.approx(entry.params, rel=0.01)


def test_llama_8b_count_is_exact():
    # embeddings 2·128256·4096 + 32 layers·(q 4096² + k,v 2·4096·1024 + o 4096² + mlp 3·4096·14336 + 2 norms·4096)
    # + final norm 4096 = 8,030,261,248 (the figure transformers reports for Llama-3.1-8B)
    expected = 2 * 128256 * 4096 + 32 * (2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096) + 4096
    assert expected == 8_030_261_248
    assert CATALOG["llama-3.1-8b"].count_parameters() == expected


def test_lookup_by_name_alias_and_hub_id():
    assert find_base("smollm2-135m-instruct").name == "smollm2-135m"
    assert find_base("meta-llama/Llama-3.1-8B").name == "llama-3.1-8b"
    assert find_base("Qwen/Qwen2.5-7B-Instruct").name == "qwen2.5-7b"
    assert find_base("no-such-model") is None
    with pytest.raises(HonedError, match="did you mean `llama-3.1-8b`"):
        get_base("llama-3.1-8")
