"""Feature extraction throughput: the vectorised path against a per-row loop, and against one epoch.

One run, one model, the same rows: the bundled gender sample's training rows in the chat format,
every other one flagged augmented (a mixed set as `bias-inheritance mix` writes it).
1. One training epoch: `trainers.train.train_lora` (BiasDiff's LoRA: r=16, α=32, q/v; Adam moments
   saved) on the rows. Its cost is the Trainer's own `train_runtime` (the epoch) and the wall time
   of the whole call (model load, tokenisation, cards).
2. Features of the same rows under that adapter, LESS's Adam feature projected to --dim:
   - "vectorised": attribution.per_sample (torch.func vmap of grad over a batch) + Adam + sketch;
   - "loop": one forward and backward per row (torch autograd; the same loss, logits taken at the
     same positions), then the same Adam + sketch;
   both on one copy of the weights each (the loop with transformers' default attention, the
   vectorised path with eager attention, which vmap batches), timed over the same rows, alternating
   which goes first, --rounds times; rows/s is rows over the median time of a pass.
   The two paths' features are compared (cosine per row).
3. `attribution.features.write_features` end to end on the rows (load, features, chunks, card):
   its wall time against the epoch (target ≤ 1×).
Usage: python benchmarks/attribution_features.py [--model embedded|tiny|PATH] [--rows 64] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the stages run from the checkout, installed or not


def mixed_rows(n_rows: int) -> list[dict]:
    """n_rows of the bundled sample's training rows, every other one augmented."""
    from bias_inheritance.data import gender

    gender.prepare_gender(sample=True)
    rows = gender.load_split("train")
    return [{**rows[i % len(rows)], "id": f"row-{i:05d}", "origin": "augmented" if i % 2 else "original",
             "bias": "gender"} for i in range(n_rows)]


def resolve(model: str, scratch: Path) -> str:
    if model == "tiny":
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import build_tiny_llama

        return str(build_tiny_llama(scratch / "tiny-llama"))
    from bias_inheritance.model import resolve_model

    return resolve_model(model)


def loop_features(model, params: dict, adam, sketch, encoded: list, pad_id: int) -> "torch.Tensor":
    """The baseline: one forward and backward pass per row (the same loss, logits at the same positions)."""
    import torch

    from attribution.per_sample import to_batch
    from trainers.tokenise import IGNORE

    rows = []
    for row in encoded:
        one = to_batch([row], pad_id, "cpu")
        model.zero_grad(set_to_none=True)
        logits = model(input_ids=one.input_ids, logits_to_keep=one.positions[0], use_cache=False).logits[0]
        torch.nn.functional.cross_entropy(logits.float(), one.targets[0], ignore_index=IGNORE).backward()
        grads = {n: p.grad.unsqueeze(0) for n, p in model.named_parameters() if p.requires_grad}
        rows.append(sketch.project(adam.feature(n, grads[n]) for n in params))
    return torch.cat(rows)


def vectorised_features(model, params: dict, adam, sketch, encoded: list, batch_size: int, pad_id: int):
    import torch

    from attribution.per_sample import per_sample_gradients, to_batch

    out = []
    for start in range(0, len(encoded), batch_size):
        grads = per_sample_gradients(model, params, to_batch(encoded[start:start + batch_size], pad_id, "cpu"))
        out.append(sketch.project(adam.feature(n, grads[n]) for n in params))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="embedded (SmolLM2-135M), tiny, or a model folder")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dim", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()

    import torch

    from attribution.adam_features import AdamState
    from attribution.features import FeatureSettings, load_lora, write_features
    from attribution.per_sample import lora_parameters
    from trainers.tokenise import encode
    from attribution.projection import SignSketch
    from bias_inheritance.cache import CACHE_ENV
    from bias_inheritance.chat import prompt_format
    from bias_inheritance.io import write_jsonl
    from trainers.config import TrainSettings
    from trainers.data import to_sft_dataset
    from trainers.train import train_lora

    scratch = Path(tempfile.mkdtemp(prefix="bench-features-"))
    os.environ.setdefault(CACHE_ENV, str(scratch / "cache"))  # the sample is prepared apart from the user's data
    resolved = resolve(args.model, scratch)
    rows = mixed_rows(args.rows)
    data = scratch / "mix.jsonl"
    write_jsonl(data, rows)

    settings = TrainSettings(epochs=1.0, batch_size=args.batch_size, learning_rate=1e-4, max_length=args.max_length,
                             save_optimizer_state=True, device="cpu", save_steps=10_000)
    start = time.perf_counter()
    card = train_lora(resolved, data, scratch / "adapter", settings)
    train_wall = time.perf_counter() - start
    epoch = card["summary"]["train_metrics"]["train_runtime"]
    adapter = scratch / "adapter"

    tokenizer, vmodel = load_lora(resolved, adapter, "cpu", "float32")
    _, lmodel = load_lora(resolved, adapter, "cpu", "float32")
    lmodel.base_model.model.set_attn_implementation("sdpa")  # the loop's fastest attention
    examples = [{**e, "id": r["id"]} for e, r in zip(to_sft_dataset(rows, tokenizer, prompt_format(tokenizer)), rows)]
    encoded = [encode(e, tokenizer, args.max_length, "answer") for e in examples]
    encoded.sort(key=lambda r: len(r.input_ids))  # both paths see the same order; batches of like length
    params = lora_parameters(vmodel)
    adam = AdamState.load(adapter, list(params), {n: p.shape for n, p in params.items()})
    sketch = SignSketch(sum(p.numel() for p in params.values()), args.dim, 0)

    paths = {"vectorised": lambda: vectorised_features(vmodel, params, adam, sketch, encoded, args.batch_size,
                                                       tokenizer.pad_token_id),
             "loop": lambda: loop_features(lmodel, lora_parameters(lmodel), adam, sketch, encoded,
                                           tokenizer.pad_token_id)}
    times: dict[str, list[float]] = {name: [] for name in paths}
    results = {}
    for round_index in range(args.rounds):
        for name in (list(paths) if round_index % 2 == 0 else list(paths)[::-1]):
            start = time.perf_counter()
            results[name] = paths[name]()
            times[name].append(time.perf_counter() - start)
    cosines = torch.nn.functional.cosine_similarity(results["vectorised"], results["loop"], dim=1)

    start = time.perf_counter()
    write_features(resolved, adapter, examples, scratch / "features",
                   FeatureSettings(projection_dim=args.dim, batch_size=args.batch_size, max_length=args.max_length,
                                   device="cpu"), optimizer_state=adapter)
    features_wall = time.perf_counter() - start

    median = {name: statistics.median(t) for name, t in times.items()}
    report = {
        "model": args.model, "rows": args.rows, "batch_size": args.batch_size, "projection_dim": args.dim,
        "lora_parameters": sketch.input_dim, "mean_tokens": statistics.mean(len(r.input_ids) for r in encoded),
        "rows_per_s": {name: args.rows / t for name, t in median.items()},
        "speedup_vectorised_over_loop": median["loop"] / median["vectorised"],
        "min_cosine_vectorised_vs_loop": cosines.min().item(),
        "epoch_train_runtime_s": epoch, "train_lora_wall_s": train_wall,
        "write_features_wall_s": features_wall,
        "features_over_epoch": features_wall / epoch, "features_over_train_lora_wall": features_wall / train_wall,
        "torch_threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
