"""Two CPU processes (gloo) with batch b give the update of one process with batch 2b (trainers/alignment.py).

The rows are split unevenly (3 original + 1 augmented on one process, 1 + 3 on the other), so per-process
means differ from the global ones: only gathered sums and counts, with the term's gradient scaled as the
Trainer scales the SFT term under DDP, reproduce the single-process update.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from alignment_ddp_worker import one_step

WORKER = Path(__file__).with_name("alignment_ddp_worker.py")
BATCH = 4


@pytest.mark.slow
def test_two_processes_match_one_process_with_twice_the_batch(tiny_model_dir, tmp_path):
    out = tmp_path / "ddp.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(WORKER), str(tiny_model_dir), str(out), str(BATCH)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=WORKER.parent.parent)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    ddp = torch.load(out, weights_only=False)
    assert ddp["world_size"] == 2

    single, trainer = one_step(tiny_model_dir, 2 * BATCH, tmp_path / "single")
    for name, update in single.items():
        torch.testing.assert_close(ddp["update"][name], update, rtol=1e-6, atol=1e-6 * update.abs().max().item())
    assert ddp["summary"] == trainer.alignment_summary()
    for key in ("loss", "sft_loss", "align_loss"):
        assert ddp["log"][0][key] == pytest.approx(trainer.state.log_history[0][key], rel=1e-6), key
    # Sensitivity: the alignment term's share of the update is far above the tolerance.
    plain, _ = one_step(tiny_model_dir, 2 * BATCH, tmp_path / "plain", align_lambda=0.0)
    assert max((single[n] - plain[n]).abs().max().item() for n in single) > 1e-4
