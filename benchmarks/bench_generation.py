"""Generation throughput: batched vs one-at-a-time HF, and the OpenAI-compatible backend's concurrency.

(a) The embedded model (SmolLM2-135M-Instruct) through generators.backends.HFGenerator: the same
    prompts once in batches of --batch-size and once one prompt per call, sampled as D_a is
    (temperature 0.7, top_p 0.9), every output forced to exactly --new-tokens tokens
    (min_new_tokens = max_new_tokens, so both runs produce the same number of tokens). One warm-up
    call first; tokens are counted from the shapes `generate` returns.
(b) OpenAICompatGenerator against tests/fake_openai_server.py on 127.0.0.1 answering every request
    after a fixed --latency-ms, at concurrency 1 and --concurrency.
Usage: python benchmarks/bench_generation.py [--prompts 16] [--batch-size 16] [--new-tokens 64]
                                            [--requests 64] [--latency-ms 100] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake server is a test helper

from fake_openai_server import FakeOpenAIServer, reply_text  # noqa: E402

from bias_inheritance import vocab  # noqa: E402
from bias_inheritance.identity import model_identity  # noqa: E402
from bias_inheritance.model import resolve_model  # noqa: E402
from generators.backends import ApiOptions, HFGenerator, OpenAICompatGenerator, SamplingSettings  # noqa: E402


def prompts(count: int) -> list[str]:
    """Type-0-like requests of varied length, so batches really pad."""
    return [f"Write a short biography of a {vocab.PROFESSIONS[i % len(vocab.PROFESSIONS)]}." for i in range(count)]


def count_new_tokens(gen: HFGenerator, counts: list[int]) -> None:
    """Wrap the model's generate to record how many tokens each call produced (rows x new length)."""
    original = gen.model.generate

    def counting(**kwargs):
        output = original(**kwargs)
        counts.append(output.shape[0] * (output.shape[1] - kwargs["input_ids"].shape[1]))
        return output

    gen.model.generate = counting


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_hf(n_prompts: int, batch_size: int, new_tokens: int) -> None:
    import torch

    resolved = resolve_model("embedded")
    gen = HFGenerator(resolved, SamplingSettings(max_new_tokens=new_tokens, temperature=0.7, top_p=0.9),
                      model_identity(resolved), device="cpu")
    gen.model.generation_config.min_new_tokens = new_tokens  # no early EOS: equal output lengths
    counts: list[int] = []
    count_new_tokens(gen, counts)
    gen.generate(prompts(2), seed=0)  # warm-up
    items = prompts(n_prompts)
    counts.clear()
    batched = timed(lambda: [gen.generate(items[i:i + batch_size], seed=i) for i in range(0, len(items), batch_size)])
    batched_tokens = sum(counts)
    counts.clear()
    single = timed(lambda: [gen.generate([p], seed=i) for i, p in enumerate(items)])
    single_tokens = sum(counts)
    assert batched_tokens == single_tokens == n_prompts * new_tokens, (batched_tokens, single_tokens)
    print(f"(a) HF, embedded model, {n_prompts} prompts x {new_tokens} new tokens, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"    one at a time:       {single:7.1f} s  {single_tokens / single:7.1f} tokens/s  1.00x")
    print(f"    batches of {batch_size:<3}:      {batched:7.1f} s  {batched_tokens / batched:7.1f} tokens/s  "
          f"{single / batched:.2f}x")


def bench_api(n_requests: int, latency_ms: float, concurrency: int) -> None:
    items = [f"prompt {i}" for i in range(n_requests)]
    print(f"(b) OpenAI-compatible backend vs fake server, {n_requests} requests, {latency_ms:g} ms each")
    base = None
    for workers in (1, concurrency):
        with FakeOpenAIServer(latency_s=latency_ms / 1000) as server:
            gen = OpenAICompatGenerator(server.url, "fake", SamplingSettings(), ApiOptions(concurrency=workers))
            texts: list[str] = []
            elapsed = timed(lambda: texts.extend(gen.generate(items, seed=0)))
            assert texts == [reply_text(p, i) for i, p in enumerate(items)]
            base = base or elapsed
            print(f"    concurrency {workers:<3} {elapsed:7.2f} s  {n_requests / elapsed:7.1f} requests/s  "
                  f"{base / elapsed:.2f}x  (max in flight {server.max_in_flight})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-hf", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if not args.skip_hf:
        bench_hf(args.prompts, args.batch_size, args.new_tokens)
    bench_api(args.requests, args.latency_ms, args.concurrency)


if __name__ == "__main__":
    main()
