"""Per-row LoRA gradient features: vectorised = a per-row autograd loop, LESS's Adam feature by hand,
the sparse projection, chunked folders with keys and resume, and cosine scoring by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from attribution.adam_features import adam_feature
from attribution.feature_store import read_chunk, write_chunk
from attribution.features import FeatureSettings, read_features, write_features
from trainers.tokenise import encode
from attribution.projection import SignSketch
from attribution.similarity import score_rows
from bias_inheritance import cards
from bias_inheritance.cache import CACHE_ENV
from bias_inheritance.errors import UserError

PROMPT = "<|user|>{}<|end|><|assistant|>"
EXAMPLES = [
    {"id": "r0", "prompt": PROMPT.format("She is a nurse at the clinic."), "completion": "nurse"},
    {"id": "r1", "prompt": PROMPT.format("He writes software for banks and teaches at night."),
     "completion": "software engineer"},
    {"id": "r2", "prompt": PROMPT.format("Ann teaches."), "completion": "teacher"},
    {"id": "r3", "prompt": PROMPT.format("Ben designs homes and public libraries in the city."),
     "completion": "architect"},
    {"id": "p0", "prompt": "", "completion": "Women are bad at math."},  # a probe: loss over all tokens
]
SMALL = dict(projection_dim=64, batch_size=3, chunk_rows=2, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Model and adapter hashes are memoised in the cache: keep this module's apart from the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter (q, v; r=16) after two AdamW steps, saved with its Adam moments."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from trainers.optimizer_state import save_adam_moments

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.05)
    ids = torch.randint(10, 500, (4, 12))
    for _ in range(2):
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    save_adam_moments(model, optimizer, folder)
    return folder


@pytest.fixture(scope="module")
def loop_gradients(tiny_model_dir: Path, adapter: Path) -> torch.Tensor:
    """The oracle: each row's flat LoRA gradient from its own forward and backward pass."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter),
                                      is_trainable=True).eval()
    rows = []
    for example in EXAMPLES:
        row = encode(example, tokenizer, 512, "answer")
        model.zero_grad()
        model(input_ids=torch.tensor([row.input_ids]), labels=torch.tensor([row.labels])).loss.backward()
        rows.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
    return torch.stack(rows)


@pytest.fixture(scope="module")
def plain_features(tiny_model_dir: Path, adapter: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_features(str(tiny_model_dir), adapter, EXAMPLES, tmp_path_factory.mktemp("f") / "plain",
                          FeatureSettings(**SMALL))


def _all(folder: Path) -> tuple[list[str], torch.Tensor]:
    chunks = list(read_features(folder))
    return [i for ids, _ in chunks for i in ids], torch.cat([f for _, f in chunks])


def _sketch(gradients: torch.Tensor, seed: int = 0) -> torch.Tensor:
    return gradients @ SignSketch(gradients.shape[1], SMALL["projection_dim"], seed).dense_matrix()


def test_encode_is_trls_tokenisation(tiny_model_dir: Path, tmp_path: Path) -> None:
    """input_ids and labels equal those SFTTrainer trains on, truncation included."""
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    examples = [{k: e[k] for k in ("prompt", "completion")} for e in EXAMPLES]
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir), processing_class=tokenizer,
                         args=SFTConfig(output_dir=str(tmp_path), max_length=20, report_to=[], use_cpu=True,
                                        dataset_num_proc=None), train_dataset=datasets.Dataset.from_list(examples))
    trained = {row["prompt"]: row for row in trainer.train_dataset}
    for example in examples:
        if example["prompt"] in trained:
            ours, theirs = encode(example, tokenizer, 20, "answer"), trained[example["prompt"]]
            assert (ours.input_ids, ours.labels) == (theirs["input_ids"], theirs["labels"])
        else:  # TRL drops a row whose answer is cut away; we refuse it in one line
            with pytest.raises(UserError, match="max_length"):
                encode(example, tokenizer, 20, "answer")
    assert 0 < len(trained) < len(examples)
    assert any(len(encode(e, tokenizer, 512, "answer").input_ids) > 20 for e in examples
               if e["prompt"] in trained)  # a kept row was truncated
    assert encode(EXAMPLES[0], tokenizer, 512, "all").labels == encode(EXAMPLES[0], tokenizer, 512, "all").input_ids


def test_vectorised_features_equal_a_per_row_loop(plain_features: Path, loop_gradients: torch.Tensor) -> None:
    ids, features = _all(plain_features)
    assert ids == [e["id"] for e in EXAMPLES]
    expected = _sketch(loop_gradients)
    cosines = torch.nn.functional.cosine_similarity(features, expected, dim=1)
    assert cosines.min() >= 0.999, cosines
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-6)


def test_adam_feature_by_hand(tiny_model_dir: Path, adapter: Path, loop_gradients: torch.Tensor,
                              tmp_path: Path) -> None:
    # one element: m' = 0.9·1 + 0.1·2 = 1.1, v' = 0.999·4 + 0.001·4 = 4, 1.1 / √(4 + 1e-8)
    one = adam_feature(torch.tensor(2.0), torch.tensor(1.0), torch.tensor(4.0))
    assert one.item() == pytest.approx(1.1 / math.sqrt(4 + 1e-8), rel=1e-6)
    # ε inside the root, as LESS: v' = 0 gives 0.9e-4 / √1e-8 = 0.9 (ε outside would give 9,000)
    assert adam_feature(torch.tensor(0.0), torch.tensor(1e-4), torch.tensor(0.0)).item() == pytest.approx(0.9)
    from safetensors import safe_open

    with safe_open(str(adapter / "optimizer_state.safetensors"), framework="pt") as handle:
        meta = json.loads(handle.metadata()["meta"])
        names = [n for n in handle.keys() if n.endswith(".exp_avg")]  # file order is sorted: reorder below
        m = {n.removesuffix(".exp_avg"): handle.get_tensor(n).flatten() for n in names}
        v = {n: handle.get_tensor(n + ".exp_avg_sq").flatten() for n in m}
    assert meta["betas"] == [0.9, 0.999] and meta["eps"] == 1e-8
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    order = [n for n, p in PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                                                     str(adapter), is_trainable=True).named_parameters()
             if p.requires_grad]
    m_flat, v_flat = torch.cat([m[n] for n in order]), torch.cat([v[n] for n in order])
    g = loop_gradients
    hand = (0.9 * m_flat + 0.1 * g) / torch.sqrt(0.999 * v_flat + 0.001 * g * g + 1e-8)
    folder = write_features(str(tiny_model_dir), adapter, EXAMPLES, tmp_path / "adam", FeatureSettings(**SMALL),
                            optimizer_state=adapter)
    _, features = _all(folder)
    torch.testing.assert_close(features, _sketch(hand), rtol=1e-4, atol=1e-5)
    assert cards.read_card(cards.card_path(folder))["summary"]["feature"] == "adam"


def test_projection_is_seeded_blockwise_and_never_dense() -> None:
    x = torch.randn(3, 1000, dtype=torch.float64)
    sketch = SignSketch(1000, 64, seed=7)
    dense = x @ sketch.dense_matrix().double()
    for width in (1, 7, 128, 1000):
        blocks = [x[:, i:i + width] for i in range(0, 1000, width)]
        torch.testing.assert_close(sketch.project(blocks), dense)
    torch.testing.assert_close(SignSketch(1000, 64, seed=7).project([x]), dense)  # same seed, same matrix
    assert not torch.equal(SignSketch(1000, 64, seed=8).buckets, sketch.buckets)
    # Distances are kept on average: E‖Px‖² = ‖x‖² (one ±1 per column).
    big = SignSketch(200_000, 512, seed=0)  # its randomness is 2 vectors of length d, never d × k
    assert big.buckets.shape == big.signs.shape == (200_000,)
    y = torch.randn(4, 200_000, dtype=torch.float64)
    ratio = big.project([y]).norm(dim=1) / y.norm(dim=1)
    assert ((ratio - 1).abs() < 0.15).all(), ratio
    with pytest.raises(ValueError):
        sketch.project([x[:, :999]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_projection_is_the_same_on_gpu() -> None:
    x = torch.randn(5, 30_000)
    sketch = SignSketch(30_000, 256, seed=3)
    cpu = sketch.project([x])
    gpu = SignSketch(30_000, 256, seed=3).project([x[:, :10_000].cuda(), x[:, 10_000:].cuda()])
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


def test_chunks_round_trip_resume_and_keys(tiny_model_dir: Path, adapter: Path, plain_features: Path,
                                           tmp_path: Path) -> None:
    ids, features = ["a", "b", "c"], torch.randn(3, 5)
    write_chunk(tmp_path / "one.safetensors", ids, features)
    assert read_chunk(tmp_path / "one.safetensors")[0] == ids
    assert torch.equal(read_chunk(tmp_path / "one.safetensors")[1], features)

    chunks = sorted(plain_features.glob("chunk-*.safetensors"))
    assert [c.name for c in chunks] == ["chunk-00000.safetensors", "chunk-00001.safetensors", "chunk-00002.safetensors"]
    _, before = _all(plain_features)
    stamps = [c.stat().st_mtime_ns for c in chunks]
    write_features(str(tiny_model_dir), adapter, EXAMPLES, plain_features, FeatureSettings(**SMALL))  # same key
    assert [c.stat().st_mtime_ns for c in chunks] == stamps  # reused, nothing recomputed
    # An interrupted run (card partial, last chunk missing) resumes at the missing chunk only.
    card = cards.read_card(cards.card_path(plain_features))
    cards.card_path(plain_features).write_text(json.dumps({**card, "status": "partial"}), encoding="utf-8")
    with pytest.raises(UserError, match="unfinished"):
        list(read_features(plain_features))
    chunks[2].unlink()
    write_features(str(tiny_model_dir), adapter, EXAMPLES, plain_features, FeatureSettings(**SMALL))
    assert [c.stat().st_mtime_ns for c in chunks[:2]] == stamps[:2] and chunks[2].is_file()
    torch.testing.assert_close(_all(plain_features)[1], before)
    assert cards.read_card(cards.card_path(plain_features))["summary"]["resumed_chunks"] == 2
    # Another seed is another key: the folder is refused, never reused or overwritten.
    with pytest.raises(UserError, match="settings.seed"):
        write_features(str(tiny_model_dir), adapter, EXAMPLES, plain_features, FeatureSettings(**{**SMALL, "seed": 1}))


def _feature_folder(folder: Path, rows: dict[str, list[float]], seed: int = 0) -> Path:
    """A complete feature folder holding `rows` (one chunk per two rows)."""
    items = list(rows.items())
    for index in range(0, len(items), 2):
        part = items[index:index + 2]
        write_chunk(folder / f"chunk-{index // 2:05d}.safetensors", [i for i, _ in part],
                    torch.tensor([f for _, f in part]))
    inputs = {"model": "m", "adapter": "a", "projection": "p", "settings": {"projection_dim": 3, "seed": seed}}
    cards.write_card(folder, "features", inputs, summary={"chunks": math.ceil(len(items) / 2)})
    return folder


def test_scores_are_cosines_to_the_probes(tmp_path: Path) -> None:
    train = {"t0": [1.0, 0.0, 0.0], "t1": [0.0, 2.0, 0.0], "t2": [1.0, 1.0, 1.0]}
    probes = {"p0": [3.0, 0.0, 0.0], "p1": [1.0, 1.0, 0.0]}
    train_dir, probe_dir = _feature_folder(tmp_path / "train", train), _feature_folder(tmp_path / "probe", probes)
    # by hand: cos(t0,p0)=1, cos(t0,p1)=1/√2; cos(t1,p0)=0, cos(t1,p1)=1/√2; cos(t2,p0)=1/√3, cos(t2,p1)=2/√6
    hand = {"t0": (1, 1 / math.sqrt(2)), "t1": (0, 1 / math.sqrt(2)), "t2": (1 / math.sqrt(3), 2 / math.sqrt(6))}
    mean, best = score_rows(train_dir, probe_dir), score_rows(train_dir, probe_dir, reduce="max")
    assert list(mean) == ["t0", "t1", "t2"]
    for row, (a, b) in hand.items():
        assert mean[row] == pytest.approx((a + b) / 2) and best[row] == pytest.approx(max(a, b))
    with pytest.raises(UserError, match="settings.seed"):
        score_rows(train_dir, _feature_folder(tmp_path / "other", probes, seed=1))
