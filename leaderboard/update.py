"""Bring a board up to date with an entries file: evaluate new or changed entries, rebuild, record.

This is what CI runs on every change to the entries file, so it must be safe to run again and
twice at once:
- idempotent: `<board>/update.json` records each entry's key, the hash of every file under
  `<board>/entries/` and the outputs the last build wrote; when nothing differs nothing is done
  and no file is touched;
- serialised: every update holds `<board>/.lock` (`board_lock`) from reading the record to writing
  it, so two updates adding different entries both land;
- atomic: results enter `<board>/entries/<label>.json` only as whole files; the board is built in a
  hidden folder inside `<board>` and moved in only when the build succeeded; a failed build puts
  back the results files it replaced. The board as it is must build before any entry is evaluated,
  so a corrupt or foreign file under `entries/` is refused (by the builder, naming it) before
  GPU hours are spent, and the board stays as it was.
Entries that left the entries file stay on the board (with external pairs added by
`leaderboard add`, they share `entries/`): delete `entries/<label>.json` to take one off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


from bias_inheritance import cache
from bias_inheritance.errors import UserError
from bias_inheritance.identity import input_key, short_key
from bias_inheritance.io import atomic_write_json, atomic_write_text, read_json, sha256_file
from leaderboard.entries import Entry, load_entries
from leaderboard.external import ENTRIES
from leaderboard.lock import LOCK_NAME, board_lock

Evaluate = Callable[[Entry, Path], Path]  # (entry, results file to write) -> the results file written
Build = Callable[[Sequence[Path], Path], Mapping[str, Path]]  # leaderboard.build.build_board's signature

RECORD_NAME = "update.json"
_KIND = "bias-inheritance leaderboard update"
# Files a hub snapshot needs: weights as safetensors only (pickled .bin weights are never loaded), no code.
SNAPSHOT_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken")


def fetch_snapshot(repo_id: str, revision: str) -> Path:
    """The local folder of a hub repository at a pinned commit (downloaded once into the hub cache)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(SNAPSHOT_FILES)))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise UserError(f"Cannot fetch {repo_id} at commit {revision} from the hub ({exc.__class__.__name__}).",
                        "check the id, the commit and the network (or HF_TOKEN for a gated model).") from None
    if not any(folder.glob("*.safetensors")):
        raise UserError(f"{repo_id} at commit {revision} has no .safetensors weights.",
                        "use a commit with safetensors weights: pickled .bin weights are never loaded.")
    return folder


def evaluate_entry(entry: Entry, out: Path) -> Path:
    """Evaluate one entry with `bias-inheritance evaluate`'s function; its per-task store sits beside `out`."""
    from evaluation.evaluate import evaluate_model

    model = entry.model if entry.is_embedded else str(fetch_snapshot(entry.model, entry.revision or ""))
    adapter = fetch_snapshot(entry.adapter, entry.adapter_revision or "") if entry.adapter else None
    return evaluate_model(model, entry.tasks, out, adapter=adapter, limit=entry.limit, batch_size=entry.batch_size,
                          metadata=entry.metadata or None, label=entry.label, prompt_format=entry.format)


def _default_build() -> Build:
    from leaderboard.build import build_board

    return build_board


def _empty_record() -> dict[str, Any]:
    return {"kind": _KIND, "entries": {}, "files": {}, "outputs": []}


def _read_record(board: Path) -> dict[str, Any]:
    path = board / RECORD_NAME
    if not path.is_file():
        return _empty_record()
    raw = read_json(path)
    if not (isinstance(raw, dict) and raw.get("kind") == _KIND and isinstance(raw.get("entries"), dict)
            and isinstance(raw.get("files"), dict) and isinstance(raw.get("outputs"), list)):
        raise UserError(f"{path} is not the record of a leaderboard update.",
                        "delete it: the next update evaluates every entry again and rebuilds the board.")
    return raw


def _files(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `folder`; hidden ones are a writer's temporary files."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found[relative.as_posix()] = sha256_file(path)
    return found


def _evaluate(evaluate: Evaluate, entry: Entry) -> Path:
    """Results of one entry in a scratch folder of the cache named by its key (an interrupted run resumes)."""
    scratch = cache.cache_root() / "leaderboard" / short_key(entry.key)
    scratch.mkdir(parents=True, exist_ok=True)
    written = Path(evaluate(entry, scratch / "results.json"))
    if not written.is_file():
        raise UserError(f"The evaluation of entry {entry.label!r} wrote no results file ({written}).",
                        "see the evaluation's log above.")
    return written


def _check_builds(build: Build, inputs: Sequence[Path]) -> None:
    """Build the board as it is into a throwaway folder: the builder refuses a corrupt or foreign file."""
    with tempfile.TemporaryDirectory(prefix="board-check-") as scratch:
        build(inputs, Path(scratch))


def _replace(source: Path, target: Path) -> None:
    """Put `source` at `target` by renames; a folder replaced whole, so no stale figure survives."""
    if target.is_dir() and not target.is_symlink():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / target.name)
        os.replace(source, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


def _build_into(board: Path, build: Build, inputs: Sequence[Path]) -> tuple[dict[str, Path], list[str]]:
    """Build in a hidden folder inside `board`, then move every output in; returns (outputs, their names)."""
    staging = Path(tempfile.mkdtemp(dir=board, prefix=".build-"))
    try:
        written = build(inputs, staging)
        names = sorted(path.name for path in staging.iterdir())
        clash = sorted(set(names) & {ENTRIES, RECORD_NAME, LOCK_NAME})
        if clash:
            raise RuntimeError(f"the board builder wrote {clash[0]!r}, a name the update keeps for itself")
        for name in names:
            _replace(staging / name, board / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {kind: board / Path(path).relative_to(staging) for kind, path in written.items()}, names


def current_key(entry: Entry) -> str:
    """The entry's key with the code of the tasks it runs: a changed task is evaluated again."""
    from evaluation.selection import select_tasks

    _, specs = select_tasks(entry.tasks, entry.metadata)
    return input_key({"entry": entry.key, "task_code": {spec.name: spec.code_sha256 for spec in specs}})


def _stale(wanted: Sequence[Entry], keys: Mapping[str, str], record: Mapping[str, Any], folder: Path) -> list[Entry]:
    """Entries that are new, changed (another key, or other task code), or whose results file is gone."""
    return [e for e in wanted if record["entries"].get(e.label) != keys[e.label]
            or not (folder / f"{e.label}.json").is_file()]


def _install(results: Mapping[str, Path], folder: Path, board: Path, build: Build) -> tuple[dict[str, Path], list[str]]:
    """Put each label's results at `folder/<label>.json` and rebuild; if anything fails, put back the files replaced."""
    targets = {label: folder / f"{label}.json" for label in results}
    backups = {label: path.with_name(f".{path.name}.previous") for label, path in targets.items()}
    try:
        for label, source in results.items():
            if targets[label].is_file():
                os.replace(targets[label], backups[label])  # kept whole (bytes and times) until the build succeeds
            atomic_write_text(targets[label], source.read_text(encoding="utf-8"))
        built = _build_into(board, build, [folder])
    except BaseException:
        for label, target in targets.items():
            if backups[label].is_file():
                os.replace(backups[label], target)
            else:
                target.unlink(missing_ok=True)
        raise
    for backup in backups.values():
        backup.unlink(missing_ok=True)
    return built


def update_board(entries: Path, board: Path, evaluate: Evaluate | None = None, *,
                 build: Build | None = None) -> dict[str, Any]:
    """Evaluate the entries of `entries` that are new or changed into `<board>/entries/<label>.json`
    and rebuild the board from every results file under `<board>/entries/`.

    Returns {"evaluated": labels evaluated now, "unchanged": labels kept, "rebuilt": bool,
    "outputs": {kind: path} of a rebuild}. `evaluate` defaults to `evaluate_entry`, `build` to
    `leaderboard.build.build_board`.
    """
    wanted = load_entries(Path(entries))  # checked before waiting for the lock
    board = Path(board)
    evaluate = evaluate or evaluate_entry
    build = build or _default_build()
    folder = board / ENTRIES
    current = {entry.label: current_key(entry) for entry in wanted}  # unknown task names fail here, before the lock
    with board_lock(board):
        record = _read_record(board)
        todo = _stale(wanted, current, record, folder)
        unchanged = [e.label for e in wanted if e not in todo]
        files = _files(folder)
        if not todo and files == record["files"] and all((board / name).exists() for name in record["outputs"]):
            return {"evaluated": [], "unchanged": unchanged, "rebuilt": False, "outputs": {}}
        if todo and files:
            _check_builds(build, [folder])  # before any GPU time is spent
        results = {entry.label: _evaluate(evaluate, entry) for entry in todo}
        outputs, names = _install(results, folder, board, build)
        keys = {**record["entries"], **{entry.label: current[entry.label] for entry in todo}}
        atomic_write_json(board / RECORD_NAME, {"kind": _KIND, "entries": dict(sorted(keys.items())),
                                                "files": _files(folder), "outputs": names})
    return {"evaluated": [e.label for e in todo], "unchanged": unchanged, "rebuilt": True, "outputs": outputs}


def describe_update(result: Mapping[str, Any], board: Path) -> str:
    """One line for the command line."""
    if not result["rebuilt"]:
        return f"{board} is up to date ({len(result['unchanged'])} entries, nothing to evaluate)."
    evaluated = ", ".join(result["evaluated"]) or "none"
    return f"evaluated: {evaluated}; kept: {len(result['unchanged'])}; board rebuilt in {board}."
