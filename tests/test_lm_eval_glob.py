"""The command the project exists for, through lm-eval's own CLI: every leaf task once, quietly."""

import json
import os
import subprocess
import sys

import pytest

from bias_inheritance.data import crows_pairs, culture, gender, opinions
from bias_inheritance.data.culture_registry import DATASETS
from bias_tasks import tasks_path
from bias_tasks.culture.names import task_name

GENDER_TASKS = {"bias_inheritance_gender_bios", "bias_inheritance_hiring", "bias_inheritance_salary",
                "bias_inheritance_story"}
CAPABILITY_TASKS = {"bias_inheritance_crows_pairs", "bias_inheritance_heldout_perplexity", "bias_inheritance_values"}


@pytest.mark.slow
def test_glob_runs_every_leaf_task_once_through_the_lm_eval_cli(tiny_model_dir, cache_dir, tmp_path):
    gender.prepare_gender(sample=True)
    culture.prepare_culture(sample=True)
    crows_pairs.prepare_crows_pairs(sample=True)
    opinions.prepare_opinions(sample=True)
    out = tmp_path / "results"
    command = [
        sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model_dir}",
        "--include_path", str(tasks_path()), "--tasks", "bias_inheritance_*", "--limit", "2",
        "--apply_chat_template", "--device", "cpu", "--batch_size", "8", "--output_path", str(out),
        "--gen_kwargs", "max_gen_toks=8",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [results_file] = list(out.rglob("results_*.json"))
    results = json.loads(results_file.read_text())["results"]
    expected = GENDER_TASKS | CAPABILITY_TASKS | {task_name(d) for d in DATASETS}
    assert set(results) == expected and len(expected) == 23
    assert all(results[t]["synthetic_sample,none"] == 1.0 for t in expected - {"bias_inheritance_hiring",
                                                                                 "bias_inheritance_story"})
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert not [line for line in warnings if "Custom kwargs" in line], "per-task lm-eval hint is back"
    assert len(warnings) < 10, "\n".join(warnings)
