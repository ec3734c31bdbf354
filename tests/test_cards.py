"""Run identity and cards: keys change with any input, reuse only on an exact match, chains resolve."""

import hashlib
import json

import pytest

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json, differing_inputs, folder_sha256, input_key, model_identity


def test_canonical_json_ignores_order_and_tuple_vs_list():
    assert canonical_json({"b": 1, "a": (1, 2)}) == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    assert input_key({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()
    assert input_key({"a": 1}) != input_key({"a": 1.5})
    with pytest.raises(TypeError):
        canonical_json({"a": object()})


def test_differing_inputs_names_nested_keys():
    old = {"model": {"kind": "local", "sha256": "x"}, "settings": {"temperature": 0.7, "seed": 0}}
    new = {"model": {"kind": "local", "sha256": "y"}, "settings": {"temperature": 0.9, "seed": 0}, "extra": 1}
    assert differing_inputs(old, new) == ["extra", "model.sha256", "settings.temperature"]


def test_card_paths_for_files_and_folders(tmp_path):
    assert cards.card_path(tmp_path / "mixed.jsonl") == tmp_path / "mixed.card.json"
    assert cards.card_path(tmp_path / "adapter") == tmp_path / "adapter" / "card.json"


def test_reuse_only_on_an_exact_key(tmp_path):
    out = tmp_path / "d.jsonl"
    inputs = {"gamma": 0.5, "seed": 0}
    key = cards.stage_key("mix", inputs)
    assert cards.check_reuse(out, "mix", key, inputs, what="Mix", fix="use another --out") == "absent"
    out.write_text("{}\n")
    with pytest.raises(UserError, match="has no card"):
        cards.check_reuse(out, "mix", key, inputs, what="Mix", fix="use another --out")
    cards.write_card(out, "mix", inputs, status="partial")
    assert cards.check_reuse(out, "mix", key, inputs, what="Mix", fix="x") == "partial"
    card = cards.write_card(out, "mix", inputs)
    assert card["key"] == key and cards.check_reuse(out, "mix", key, inputs, what="Mix", fix="x") == "complete"
    changed = {"gamma": 0.0, "seed": 0}
    with pytest.raises(UserError, match=r"other inputs \(gamma differ\)"):
        cards.check_reuse(out, "mix", cards.stage_key("mix", changed), changed, what="Mix", fix="x")


def test_parent_key_is_part_of_the_child_key(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    cards.write_card(data, "prepare", {"source": "a"})
    first = cards.stage_key("mix", {"gamma": 0.1}, {"original": cards.parent("original", data)})
    cards.write_card(data, "prepare", {"source": "b"})
    second = cards.stage_key("mix", {"gamma": 0.1}, {"original": cards.parent("original", data)})
    assert first != second


def test_parent_must_be_complete_and_carded(tmp_path):
    with pytest.raises(UserError, match="has no card"):
        cards.parent("data", tmp_path / "nothing.jsonl")
    out = tmp_path / "a.jsonl"
    cards.write_card(out, "generate", {"count": 3}, status="partial")
    with pytest.raises(UserError, match="unfinished"):
        cards.parent("augmented", out)


def test_chain_nests_parents_and_flags_stale_ones(tmp_path):
    aug = tmp_path / "a.jsonl"
    cards.write_card(aug, "generate", {"count": 3}, summary={"provenance": {"bias_type": 4}})
    mixed = tmp_path / "m.jsonl"
    cards.write_card(mixed, "mix", {"gamma": 0.5}, parents={"augmented": cards.parent("augmented", aug)})
    tree = cards.chain(mixed)
    assert tree["stage"] == "mix" and tree["parents_cards"]["augmented"]["summary"]["provenance"]["bias_type"] == 4
    assert "stale" not in tree["parents_cards"]["augmented"]
    cards.write_card(aug, "generate", {"count": 4})  # D_a regenerated after the mix was made
    assert "stale" in cards.chain(mixed)["parents_cards"]["augmented"]


def test_corrupt_card_is_a_one_line_error(tmp_path):
    out = tmp_path / "m.jsonl"
    cards.card_path(out).write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        cards.read_card(cards.card_path(out))
    cards.card_path(out).write_text(json.dumps({"hello": 1}))
    with pytest.raises(UserError, match="not a bias-inheritance card"):
        cards.read_card(cards.card_path(out))


def test_model_identity_follows_the_weights(tmp_path, cache_dir):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights-1")
    first = model_identity(str(model))
    assert first["kind"] == "local" and first == model_identity(str(model))
    (model / "model.safetensors").write_bytes(b"weights-2")
    assert model_identity(str(model)) != first
    assert model_identity("org/name") == {"kind": "hub", "hub_id": "org/name", "revision": "main"}
    (model / "bias_inheritance_model.json").write_text(json.dumps({"hub_id": "h/m", "gguf_sha256": "abc"}))
    assert model_identity(str(model)) == {"kind": "embedded", "hub_id": "h/m", "gguf_sha256": "abc"}


def test_folder_hash_matches_a_hand_computation(tmp_path, cache_dir):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_bytes(b"abc")
    expected = hashlib.sha256(b"x.txt\0" + hashlib.sha256(b"abc").hexdigest().encode() + b"\n").hexdigest()
    assert folder_sha256(tmp_path / "d") == expected
