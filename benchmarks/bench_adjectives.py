"""Benchmark: adjective extraction of bias_inheritance_story, ours against spaCy's full pipeline.

One run does three things:
1. runs the story task through lm-eval on a model (default: the embedded one) with --limit, timing
   the whole evaluation and, inside it, the adjective extraction (pipeline load included);
2. extracts the character adjectives of the same stories with our pipeline (only the needed
   components, `nlp.pipe` in batches) and with spaCy's full default pipeline (all components, both
   batched and one `nlp()` call per story), checking that all three give the same adjectives;
3. prints a Markdown table and writes a JSON record with provenance.

    .venv/bin/python benchmarks/bench_adjectives.py --limit 32 --max-gen-toks 256 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

from bias_inheritance.io import atomic_write_json
from bias_inheritance.model import resolve_model
from bias_inheritance.provenance import package_versions
from bias_tasks import tasks_path
from bias_tasks.story import adjectives, story_task

TASK = "bias_inheritance_story"


def run_story_task(model: str, limit: int, max_gen_toks: int, device: str, batch_size: int) -> tuple[list, dict]:
    """Evaluate the story task; return its stories and the timings (whole run, extraction inside)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    spent: list[float] = []
    original = story_task.extract_character_adjectives

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    adjectives.load_pipeline.cache_clear()  # the run pays for loading spaCy, as a fresh process does
    story_task.score_items.cache_clear()
    story_task.extract_character_adjectives = timed
    try:
        start = time.perf_counter()
        results = simple_evaluate(
            model="hf", model_args={"pretrained": resolve_model(model)}, tasks=[TASK],
            task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False),
            limit=limit, apply_chat_template=True, log_samples=True, device=device, batch_size=batch_size,
            gen_kwargs={"max_gen_toks": max_gen_toks},
        )
        wall = time.perf_counter() - start
    finally:
        story_task.extract_character_adjectives = original
    stories = [
        (s["filtered_resps"][0] if isinstance(s["filtered_resps"], list) else s["filtered_resps"],
         s["doc"]["name"], s["doc"]["gender"])
        for s in results["samples"][TASK]
    ]
    metrics = {k.split(",")[0]: v for k, v in results["results"][TASK].items() if not k.endswith("stderr,none") and "," in k}
    return stories, {"task_wall_s": wall, "extraction_in_task_s": sum(spent), "metrics": metrics}


def best_of(repeats: int, work: Callable[[], object]) -> tuple[float, object]:
    """Median wall time of `repeats` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def compare(stories: list, batch_size: int, repeats: int) -> dict:
    ours = adjectives.load_pipeline()
    full = adjectives.load_pipeline(full=True)
    texts = [t for t, _, _ in stories]

    def per_text():
        return [adjectives.character_adjectives_in_doc(full(t), n, g) for t, n, g in stories]

    rows = {}
    for label, work in (
        ("ours: needed components, nlp.pipe", lambda: adjectives.extract_character_adjectives(stories, batch_size=batch_size, nlp=ours)),
        ("spaCy full pipeline, nlp.pipe", lambda: adjectives.extract_character_adjectives(stories, batch_size=batch_size, nlp=full)),
        ("spaCy full pipeline, nlp() per story", per_text),
    ):
        seconds, found = best_of(repeats, work)
        rows[label] = {"seconds": seconds, "stories_per_s": len(stories) / seconds, "adjectives": found}
    reference = rows["ours: needed components, nlp.pipe"]
    expected = reference["adjectives"]
    for row in rows.values():
        row["same_adjectives_as_ours"] = row.pop("adjectives") == expected
        row["speedup_of_ours"] = row["seconds"] / reference["seconds"]
    return {
        "components_ours": ours.pipe_names, "components_full": full.pipe_names,
        "stories": len(stories), "words": sum(len(t.split()) for t in texts), "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--limit", type=int, default=32, help="stories generated through lm-eval")
    parser.add_argument("--max-gen-toks", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16, help="lm-eval generation batch size")
    parser.add_argument("--spacy-batch", type=int, default=adjectives.BATCH_SIZE)
    parser.add_argument("--corpus-copies", type=int, default=8, help="the stories repeated, for steadier timings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench_adjectives.json"))
    parser.add_argument("--reuse", action="store_true",
                        help="take the stories and task timings from an earlier --out file instead of generating")
    args = parser.parse_args()

    if args.reuse:
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        stories, task = [tuple(s) for s in earlier["generated_stories"]], earlier["task"]
    else:
        stories, task = run_story_task(args.model, args.limit, args.max_gen_toks, args.device, args.batch_size)
        atomic_write_json(args.out, {"generated_stories": stories, "task": task})  # kept if the rest fails
    comparison = compare(stories * args.corpus_copies, args.spacy_batch, args.repeats)
    record = {
        "benchmark": "adjective extraction (bias_inheritance_story)",
        "args": {k: str(v) for k, v in vars(args).items()},
        "task": {**task, "extraction_share_of_task": task["extraction_in_task_s"] / task["task_wall_s"]},
        "comparison": comparison,
        "generated_stories": stories,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "versions": {**package_versions(), "spacy": __import__("spacy").__version__},
    }
    atomic_write_json(args.out, record)
    print(f"stories: {comparison['stories']} ({len(stories)} generated x {args.corpus_copies}), "
          f"words: {comparison['words']}")
    print("| pipeline | stories/s | time (s) | ours faster by | same adjectives |")
    print("|---|---:|---:|---:|---|")
    for label, row in comparison["rows"].items():
        print(f"| {label} | {row['stories_per_s']:.1f} | {row['seconds']:.2f} | {row['speedup_of_ours']:.2f}x | "
              f"{row['same_adjectives_as_ours']} |")
    print(f"story task wall time {task['task_wall_s']:.1f} s for {len(stories)} stories; extraction inside it "
          f"{task['extraction_in_task_s']:.2f} s ({100 * record['task']['extraction_share_of_task']:.1f} %)")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
