"""Shared fixtures: an isolated cache per test, the bundled gender sample, a tiny random Llama.

The tiny model is built from a config with a fixed seed and a byte-level BPE tokenizer trained on
the bundled sample, so no test touches the network or the embedded model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bias_inheritance.cache import CACHE_ENV

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_llama(target: Path, seed: int = 0) -> Path:
    """A 2-layer Llama (hidden 32) with a 600-token BPE tokenizer: builds in about a second."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from bias_inheritance import vocab

    sample = Path(__file__).resolve().parents[1] / "bias_inheritance" / "data" / "sample_bios.jsonl"
    corpus = [json.loads(line)["text"] for line in sample.read_text(encoding="utf-8").splitlines()]
    corpus += [" ".join(n for g in vocab.NAMES.values() for names in g.values() for n in names)]
    corpus += [" ".join(vocab.PROFESSIONS)]
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="<|end|>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for this test only."""
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


@pytest.fixture
def gender_sample(cache_dir: Path) -> Path:
    """The bundled sample prepared into this test's cache; returns the gender data folder."""
    from bias_inheritance.data import gender

    gender.prepare_gender(sample=True)
    return gender.gender_dir()
