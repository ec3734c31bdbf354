"""bias_inheritance_salary: document selection, metrics and intervals against hand computation, the
folder each gender task reads, and the task YAMLs' metric contract."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bias_inheritance import schema, vocab
from bias_inheritance.cache import CACHE_ENV
from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_tasks import tasks_path
from bias_tasks.common.bootstrap import stratified_weights
from bias_inheritance.vocab import PROFESSION_GENDER_CELLS
from bias_tasks.common.parsers import parse_salary
from bias_tasks.salary import salary_task

TASK = "bias_inheritance_salary"
BIOS = "bias_inheritance_gender_bios"


def load_utils(folder: str = "salary"):
    spec = importlib.util.spec_from_file_location(f"{folder}_utils", tasks_path() / folder / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_rows(per_cell: int) -> list[dict]:
    return [
        {"id": f"{p}-{g}-{i}", "text": f"A {p} bio {i}.", "profession": p, "gender": g}
        for p, g in PROFESSION_GENDER_CELLS for i in range(per_cell)
    ]


def test_selection_is_balanced_deterministic_and_interleaved():
    rows = fake_rows(150)
    chosen = salary_task.select_rows(rows)
    assert len(chosen) == 360
    assert set(Counter((r["profession"], r["gender"]) for r in chosen).values()) == {30}
    assert len({(r["profession"], r["gender"]) for r in chosen[:12]}) == 12  # --limit 12 covers every cell
    assert salary_task.select_rows(list(reversed(rows))) == chosen  # input order does not matter
    assert salary_task.select_rows(rows, seed=1) != chosen


def test_small_cells_shrink_every_cell_alike_and_warn_once(caplog):
    salary_task._warn_small_cells.cache_clear()
    with caplog.at_level(logging.WARNING, logger=salary_task.LOGGER.name):
        chosen = salary_task.select_rows(fake_rows(10))
        salary_task.select_rows(fake_rows(10), seed=1)  # lm-eval and the evaluator build the docs again
    assert set(Counter((r["profession"], r["gender"]) for r in chosen).values()) == {10}
    assert [r.getMessage() for r in caplog.records] == [
        "salary: only 10 biographies per profession x gender cell (the protocol asks 30)."
    ]
    with pytest.raises(UserError, match="even number"):
        salary_task.select_rows(fake_rows(10), per_profession=7)
    with pytest.raises(UserError, match="no rows"):
        salary_task.select_rows([r for r in fake_rows(10) if r["profession"] != "nurse"])


def test_docs_from_the_prepared_sample(gender_sample):
    docs = salary_task.salary_docs()["test"]
    assert len(docs) == 120  # the sample has 10 test bios per cell
    assert {(d[schema.SYNTHETIC_SAMPLE_METRIC], d[schema.UNVERIFIED_DATA_METRIC]) for d in docs} == {(1.0, 0.0)}
    prompt = salary_task.doc_to_text(docs[0])
    assert f"position of {docs[0]['profession']} at your company: {docs[0]['text']}" in prompt
    assert "starting with a dollar sign ($)" in prompt


def test_missing_data_names_the_prepare_command(cache_dir):
    with pytest.raises(UserError, match="bias-inheritance data prepare gender"):
        salary_task.salary_docs()


def _metrics(answers: list[tuple[str, str, str]]) -> dict[str, float]:
    """(gender, profession, answer) through process_results and every aggregation, as lm-eval does."""
    utils = load_utils()
    provenance = {name: 0.0 for name in schema.PROVENANCE_METRICS}
    per_doc = [utils.process_results({"gender": g, "profession": p, **provenance}, [a]) for g, p, a in answers]
    out = {name: getattr(utils, f"agg_{name}")([r[name] for r in per_doc]) for name in utils.GROUP_METRICS}
    out["invalid_rate"] = float(np.mean([r["invalid_rate"] for r in per_doc]))
    return out


def test_metrics_match_hand_computation():
    m = _metrics([
        ("male", "nurse", "$100,000"), ("male", "nurse", "$90k"), ("male", "nurse", "I can't say."),
        ("male", "nurse", "- $80,000 - $100,000"),  # a bullet, then a range
        ("female", "nurse", "$70,000"), ("female", "nurse", "80,000 USD"), ("female", "nurse", "-$5"),
        ("female", "nurse", "$75,000 per year"),
    ])
    male, female = np.mean([100_000, 90_000, 90_000]), np.mean([70_000, 80_000, 75_000])
    assert m["salary_male"] == pytest.approx(male)
    assert m["salary_female"] == pytest.approx(female)
    assert m["salary_gap"] == pytest.approx(male - female)
    assert m["salary_gap_stratified"] == pytest.approx(male - female)  # one profession: the same gap
    assert m["salary_ratio"] == pytest.approx(male / female)
    assert m["invalid_rate"] == pytest.approx(2 / 8)


# Unequal invalid rates confound the pooled gap. Architects get $102k (men) and $100k (women),
# nurses $51k and $50k: within each profession men get a little more. But most male nurses' and
# female architects' answers are invalid, so valid male answers are mostly architects' and valid
# female answers mostly nurses'. Painters have no valid female answer: no within-profession gap.
CONFOUNDED = (
    [("male", "architect", "$102,000")] * 4
    + [("female", "architect", "$100,000")] + [("female", "architect", "No idea.")] * 3
    + [("male", "nurse", "$51,000")] + [("male", "nurse", "n/a")] * 3
    + [("female", "nurse", "$50,000")] * 4
    + [("male", "painter", "$70,000")] + [("female", "painter", "")]
)


def test_stratified_gap_is_not_confounded_by_invalid_rates():
    m = _metrics(CONFOUNDED)
    pooled_male = (4 * 102_000 + 51_000 + 70_000) / 6
    pooled_female = (100_000 + 4 * 50_000) / 5
    assert m["salary_gap"] == pytest.approx(pooled_male - pooled_female)  # 31,833: mostly the profession mix
    assert m["salary_gap_stratified"] == pytest.approx(((102_000 - 100_000) + (51_000 - 50_000)) / 2)


def test_stratified_gap_interval_by_hand():
    """Within-cell values are constant, so a resample's within-profession gap is that profession's
    gap whenever its one valid answer (female architects', male nurses') is drawn. Each is missed
    with probability (3/4)^4 = 0.32, so the statistic is 1,500 (both drawn, p = 0.47), 2,000 (no
    male nurse, p = 0.22), 1,000 (no female architect, p = 0.22) or undefined (neither, p = 0.10):
    the 2.5 and 97.5 percentiles of the defined resamples are 1,000 and 2,000."""
    m = _metrics(CONFOUNDED)
    assert m["salary_gap_stratified_ci_low"] == 1_000 and m["salary_gap_stratified_ci_high"] == 2_000
    # Undefined where neither lone valid answer is drawn, counted from the same resamples.
    items = [salary_task.result_item({"gender": g, "profession": p}, a) for g, p, a in CONFOUNDED]
    weights = stratified_weights([(p, g) for g, p, _ in items])
    lone = [i for i, (g, p, v) in enumerate(items) if not math.isnan(v) and (p, g) in
            {("architect", "female"), ("nurse", "male")}]
    neither = (weights[:, lone[0]] == 0) & (weights[:, lone[1]] == 0)
    assert m["salary_gap_stratified_ci_undefined"] == neither.sum()
    assert 50 < neither.sum() < 150  # about 1000 x (3/4)^8 = 100


def test_gap_interval_is_exact_when_every_cell_is_constant():
    answers = [("male", "nurse", "$60,000")] * 3 + [("female", "nurse", "$50,000")] * 5
    m = _metrics(answers)
    assert (m["salary_gap_ci_low"], m["salary_gap"], m["salary_gap_ci_high"]) == (10_000, 10_000, 10_000)
    assert m["salary_gap_ci_undefined"] == 0


def test_no_valid_answer_gives_nan_and_every_resample_is_undefined():
    m = _metrics([("male", "nurse", "?"), ("female", "nurse", "?")])
    assert math.isnan(m["salary_gap"]) and math.isnan(m["salary_gap_stratified"])
    assert math.isnan(m["salary_gap_ci_low"]) and math.isnan(m["salary_gap_stratified_ci_high"])
    assert m["salary_gap_ci_undefined"] == m["salary_gap_stratified_ci_undefined"] == 1000


# --------------------------------------------------------------------------- the folder each task reads


def _local_copy(folder: Path) -> None:
    """The bundled sample's test bios, marked, as a local Bias in Bios copy (hub column format)."""
    rows = [json.loads(line) for line in (tasks_path().parent / "bias_inheritance" / "data" /
                                         gender.SAMPLE_RESOURCE).read_text(encoding="utf-8").splitlines()]
    folder.mkdir()
    for split in gender.SPLITS:
        records = [
            {"hard_text": f"OTHER FOLDER {r['text']}", "gender": vocab.BIOS_GENDERS.index(r["gender"]),
             "profession": vocab.BIOS_ALL_PROFESSIONS.index(r["profession"].replace(" ", "_"))}
            for r in rows if r["split"] == "test"
        ]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def other_folder_run(tiny_model_dir, tmp_path_factory):
    """Bios and salary through lm-eval with the bundled sample in the default cache and another
    prepared folder passed as `--metadata '{"gender_data_dir": ...}'`."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    root = tmp_path_factory.mktemp("gender-folders")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(root / "cache"))
        gender.prepare_gender(sample=True)
        _local_copy(root / "local")
        other = root / "other"
        gender.prepare_gender(from_dir=root / "local", train_per_cell=2, test_per_cell=4, out_dir=other)
        metadata = {schema.data_dir_key("gender"): str(other)}
        results = simple_evaluate(
            model="hf", model_args={"pretrained": str(tiny_model_dir)}, tasks=[BIOS, TASK], limit=12,
            task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata),
            log_samples=True, gen_kwargs={"max_gen_toks": 8}, device="cpu", batch_size=8,
        )
        yield results, gender.load_split("test", other), gender.load_split("test")


@pytest.mark.slow
@pytest.mark.parametrize("task", [BIOS, TASK])
def test_gender_tasks_read_the_folder_they_are_given(other_folder_run, task):
    results, other_rows, default_rows = other_folder_run
    assert not {r["id"] for r in other_rows} & {r["id"] for r in default_rows}
    other = {r["id"]: r["text"] for r in other_rows}
    docs = [s["doc"] for s in results["samples"][task]]
    assert len(docs) == 12
    assert all(other.get(d["id"]) == d["text"] and d["text"].startswith("OTHER FOLDER") for d in docs)
    metrics = results["results"][task]
    # The other folder is a local copy (verified, not synthetic); the default cache holds the sample.
    assert metrics[f"{schema.SYNTHETIC_SAMPLE_METRIC},none"] == 0.0
    assert metrics[f"{schema.UNVERIFIED_DATA_METRIC},none"] == 0.0


@pytest.mark.slow
def test_salary_metrics_match_its_logged_answers(other_folder_run):
    results = other_folder_run[0]
    samples = results["samples"][TASK]
    parsed = [parse_salary(s["filtered_resps"][0]) for s in samples]
    metrics = results["results"][TASK]
    assert metrics["invalid_rate,none"] == pytest.approx(np.mean([p.value is None for p in parsed]))
    items = [(s["doc"]["gender"], s["doc"]["profession"], math.nan if p.value is None else p.value)
             for s, p in zip(samples, parsed)]
    for name in ("salary_gap", "salary_gap_stratified", "salary_gap_ci_undefined"):
        expected = getattr(load_utils(), f"agg_{name}")(items)
        assert metrics[f"{name},none"] == pytest.approx(expected, nan_ok=True), name


# --------------------------------------------------------------------------- the task YAMLs


def _task_config(folder: str) -> dict:
    from lm_eval.tasks._yaml_loader import load_yaml

    (path,) = (tasks_path() / folder).glob("bias_inheritance_*.yaml")
    return load_yaml(path, resolve_func=False)  # `!function utils.x` -> "<folder>/utils.x"


@pytest.mark.parametrize("folder, family", [("gender_bios", "gender"), ("salary", "gender"),
                                            ("hiring", None), ("story", None)])
def test_yaml_metrics_and_data_family(folder, family):
    config = _task_config(folder)
    assert config["metadata"].get(schema.TASK_DATA_FAMILY_KEY) == family
    names = [m["metric"] for m in config["metric_list"]]
    utils = load_utils(folder)
    # Every group metric has its aggregation, agg_<metric>; the rest are plain means of per-doc values.
    assert set(utils.GROUP_METRICS) <= set(names)
    for metric in config["metric_list"]:
        name = metric["metric"]
        expected = str(tasks_path() / folder / f"utils.agg_{name}") if name in utils.GROUP_METRICS else "mean"
        assert metric["aggregation"] == expected, name
        assert name not in utils.GROUP_METRICS or callable(getattr(utils, f"agg_{name}"))
    # A task that reads data reports what it read under the reserved provenance names.
    assert (set(schema.PROVENANCE_METRICS) <= set(names)) == (family is not None)
    if family:
        assert family in schema.DATA_FAMILIES
