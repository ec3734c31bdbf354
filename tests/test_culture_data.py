"""Culture data preparation: raw fixtures in each dataset's own format, and the bundled sample -> canonical cache files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest

from bias_inheritance.data import culture, culture_registry
from bias_inheritance.data.culture_fignews import convert_fignews
from bias_inheritance.data.culture_registry import BY_KEY, DATASETS, get_dataset
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json, read_jsonl

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "culture"
SCHEMA = {"id", "source_index", "text", "label", "label_set", "culture", "dataset", "tasktype", "relation"}


def _load_sheet_writer():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fignews_sheet", FIXTURES / "make_fignews_sheet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fixture_bytes(dataset) -> bytes:
    return culture.local_path(dataset, FIXTURES).read_bytes()


def _raw_labels(dataset) -> list[str]:
    lines = _fixture_bytes(dataset).decode("utf-8").splitlines()
    return [json.loads(line)["label"] for line in lines if line.strip()]


def test_registry_matches_spec_table():
    assert len(DATASETS) == 16 and len(BY_KEY) == 16
    assert sum(d.paper_rows for d in DATASETS) == 16_980
    assert Counter(d.relation for d in DATASETS) == {"direct": 7, "indirect": 9}
    assert Counter(d.culture for d in DATASETS) == {"arabic": 5, "chinese": 2, "portuguese": 5, "spanish": 4}
    assert Counter(d.tasktype for d in DATASETS) == {
        "offensive": 3, "hate": 3, "spam": 2, "vulgar": 1, "bias": 5, "abusive": 2
    }
    for dataset in DATASETS:
        assert dataset.key.startswith(f"{dataset.tasktype}_{dataset.code}_")
        assert dataset.url.startswith("https://raw.githubusercontent.com/") and " " not in dataset.url
        kind, digest = dataset.checksum.split(":")
        assert len(digest) == {"sha256": 64, "gitblob": 40}[kind]


def test_gitblob_checksum_is_gits_blob_id():
    # `git hash-object` of an empty file and of "hello\n", well-known values.
    assert culture.checksum(b"", "gitblob") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert culture.checksum(b"hello\n", "gitblob") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert culture.checksum(b"x", "sha256") == hashlib.sha256(b"x").hexdigest()


def test_prepare_from_dir_converts_every_fixture(cache_dir):
    source = culture.prepare_culture(from_dir=FIXTURES)
    assert source.kind == "dir" and not source.verified and "UNVERIFIED" in source.label
    assert set(source.datasets) == set(BY_KEY) and source.missing == {}
    for dataset in DATASETS:
        rows, loaded = culture.load_rows(dataset.key)
        record = source.datasets[dataset.key]
        assert loaded.content_sha256 == source.content_sha256
        assert all(set(row) == SCHEMA for row in rows)
        assert {row["dataset"] for row in rows} == {dataset.key}
        assert {row["culture"] for row in rows} == {dataset.culture}
        assert {row["relation"] for row in rows} == {dataset.relation}
        assert all(row["label_set"] == list(dataset.label_set) for row in rows)
        assert record["rows"] == len(rows) and record["verified"] is False
        assert sorted(row["source_index"] for row in rows) == list(range(len(rows)))
        if dataset.source == "culturellm":
            raw = _raw_labels(dataset)
            # Every raw row survives with its label, in the source's spelling.
            assert [row["label"] for row in sorted(rows, key=lambda r: r["source_index"])] == raw
            assert record["label_counts"] == {label: raw.count(label) for label in dataset.label_set}


def test_biasfignews_keeps_arabic_rows_and_counts_exclusions(cache_dir):
    source = culture.prepare_culture(from_dir=FIXTURES)
    record = source.datasets["bias_ar_biasfignews"]
    # Fixture: 9 Arabic rows (1 English dropped by language), 1 Unclear + 1 Not Applicable excluded.
    assert record["rows"] == 7
    assert record["label_counts"] == {"1": 3, "0": 4}
    assert record["excluded"] == {"Unclear": 1, "Not Applicable": 1}
    assert sum(record["source_classes"].values()) == 9


def test_rows_are_ordered_so_any_prefix_keeps_both_labels(cache_dir):
    culture.prepare_culture(from_dir=FIXTURES)
    rows, _ = culture.load_rows("hate_ar_osact4")  # 4 NOT_HS, 2 HS in the fixture
    assert {r["label"] for r in rows[:3]} == {"HS", "NOT_HS"}
    order = culture.stratified_order(["a"] * 90 + ["b"] * 10)
    assert sorted(order) == list(range(100))
    first_twenty = Counter("a" if i < 90 else "b" for i in order[:20])
    assert first_twenty == {"a": 18, "b": 2}


def _fake_fetcher(served: dict[str, bytes] | None = None):
    """Serve the fixtures at the pinned URLs, as the network would serve the real files."""
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        if served is not None and url in served:
            return served[url]
        for base in (culture_registry.CULTURELLM_RAW, culture_registry.FIGNEWS_RAW):
            if url.startswith(base):
                relative = urllib.parse.unquote(url[len(base):])
                dataset = next(d for d in DATASETS if d.path == relative)
                return _fixture_bytes(dataset)
        raise AssertionError(f"unexpected URL {url}")

    return fetch, calls


def _pin_to_fixtures(monkeypatch):
    """Re-pin every dataset to its fixture's checksum, as if the fixtures were the released files."""
    pinned = []
    for dataset in DATASETS:
        kind = dataset.checksum.split(":")[0]
        pinned.append(dataclasses.replace(dataset, checksum=f"{kind}:{culture.checksum(_fixture_bytes(dataset), kind)}"))
    monkeypatch.setattr(culture, "DATASETS", tuple(pinned))


def test_download_checks_checksums_and_converts(cache_dir, monkeypatch):
    _pin_to_fixtures(monkeypatch)
    fetch, calls = _fake_fetcher()
    source = culture.prepare_culture(fetch=fetch)
    assert len(calls) == 16 and all(" " not in url for url in calls)
    assert source.kind == "download" and source.verified and "UNVERIFIED" not in source.label
    from_dir = culture.prepare_culture(from_dir=FIXTURES, out_dir=cache_dir / "other")
    assert from_dir.content_sha256 == source.content_sha256  # same bytes, same canonical rows


def test_download_with_wrong_bytes_is_refused(cache_dir, monkeypatch):
    _pin_to_fixtures(monkeypatch)
    tampered = culture.DATASETS[3]
    fetch, _ = _fake_fetcher({tampered.url: _fixture_bytes(tampered) + b'{"tweet": "x", "label": "HS"}\n'})
    with pytest.raises(UserError, match="does not match its pinned checksum") as error:
        culture.prepare_culture(fetch=fetch)
    assert tampered.url in error.value.problem and "--from-dir" in error.value.fix
    assert not (cache_dir / "data" / "culture" / "source.json").exists()


def test_real_pins_reject_the_fixtures(cache_dir):
    fetch, _ = _fake_fetcher()
    with pytest.raises(UserError, match="pinned checksum"):
        culture.prepare_culture(fetch=fetch)


def test_network_failure_names_the_offline_route():
    with pytest.raises(UserError, match="Could not download") as error:
        culture.http_get("http://127.0.0.1:9/nothing.jsonl", timeout=5)
    assert "--from-dir" in error.value.fix


def test_missing_culturellm_file_is_an_error(cache_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(FIXTURES / "data", copy / "data")
    (copy / get_dataset("spam_zh_ccs").path).unlink()
    with pytest.raises(UserError, match="missing under"):
        culture.prepare_culture(from_dir=copy)


def test_missing_biasfignews_prepares_the_rest_and_its_task_explains(cache_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(FIXTURES / "data", copy / "data")
    (copy / culture_registry.FIGNEWS_LOCAL_PATH).unlink()
    source = culture.prepare_culture(from_dir=copy)
    assert "bias_ar_biasfignews" in source.missing and len(source.datasets) == 15
    assert culture.load_rows("spam_zh_ccs")[0]
    assert culture.check_dataset_prepared("spam_zh_ccs") == source.label
    with pytest.raises(UserError) as error:
        culture.check_dataset_prepared("bias_ar_biasfignews")
    assert error.value.problem.startswith("Culture dataset bias_ar_biasfignews (BiasFignews) is not prepared in ")
    assert f"DIR/{culture_registry.FIGNEWS_LOCAL_PATH}" in error.value.fix
    assert "bias-inheritance data prepare culture --from-dir DIR" in error.value.fix
    assert "without BiasFignews" in error.value.fix and "README" in error.value.fix
    with pytest.raises(UserError, match="BiasFignews"):
        culture.load_rows("bias_ar_biasfignews")


ROUTES = ("`bias-inheritance data prepare culture`", "`bias-inheritance data prepare culture --sample`",
          "`bias-inheritance data prepare culture --from-dir DIR`")


def test_unprepared_data_names_every_command(cache_dir):
    from bias_inheritance.data import check_prepared

    for attempt in (lambda: culture.check_dataset_prepared("offensive_ar_mp", None),
                    lambda: culture.check_dataset_prepared(None, None),
                    lambda: check_prepared("culture", dataset="offensive_ar_mp"),
                    lambda: culture.load_rows("offensive_ar_mp")):
        with pytest.raises(UserError) as error:
            attempt()
        assert error.value.problem == f"Culture data is not prepared (no {cache_dir / 'data' / 'culture' / 'source.json'})."
        assert all(route in error.value.fix for route in ROUTES)
        assert "\n" not in str(error.value)
    with pytest.raises(UserError, match="Unknown culture dataset 'offensive_xx_nope'"):
        culture.check_dataset_prepared("offensive_xx_nope")


def test_check_reads_the_folder_it_is_given_and_notices_a_deleted_file(cache_dir, tmp_path):
    folder = tmp_path / "prepared"
    source = culture.prepare_culture(sample=True, out_dir=folder)
    assert culture.check_dataset_prepared("hate_ar_osact4", folder) == source.label
    assert culture.check_dataset_prepared(None, folder) == source.label
    (folder / "hate_ar_osact4.jsonl").unlink()
    with pytest.raises(UserError, match="hate_ar_osact4.jsonl is missing although") as error:
        culture.check_dataset_prepared("hate_ar_osact4", folder)
    assert all(route in error.value.fix for route in ROUTES)
    with pytest.raises(UserError, match="Culture data is not prepared"):  # the default cache is still empty
        culture.check_dataset_prepared("hate_ar_osact4")


# --------------------------------------------------------------------------- the bundled sample


def _sample_writer():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "make_sample_culture.py"
    spec = importlib.util.spec_from_file_location("make_sample_culture", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_sample_is_what_the_script_writes():
    from importlib import resources

    bundled = resources.files("bias_inheritance.data").joinpath(culture.SAMPLE_RESOURCE).read_text(encoding="utf-8")
    assert bundled == _sample_writer().render(), "run `python scripts/make_sample_culture.py`"


def test_sample_has_four_rows_of_each_label_per_dataset_none_from_the_fixtures():
    pairs = culture.sample_pairs()
    assert list(pairs) == [d.key for d in DATASETS]
    for dataset in DATASETS:
        labels = Counter(label for _, label in pairs[dataset.key])
        assert labels == {dataset.label_set[0]: 4, dataset.label_set[1]: 4}, dataset.key
    fixture_texts = {
        json.loads(line)[d.text_field] for d in DATASETS if d.source == "culturellm"
        for line in _fixture_bytes(d).decode("utf-8").splitlines() if line.strip()
    }
    assert not fixture_texts & {text for rows in pairs.values() for text, _ in rows}


def test_prepare_sample_installs_every_dataset_marked_synthetic(cache_dir):
    source = culture.prepare_culture(sample=True)
    assert (source.kind, source.synthetic, source.verified, source.missing) == ("sample", True, False, {})
    assert source.label == "sample:bias_inheritance/data/sample_culture.jsonl (SYNTHETIC SAMPLE)"
    assert "UNVERIFIED" not in source.label
    assert read_json(cache_dir / "data" / "culture" / "source.json")["synthetic"] is True
    for dataset in DATASETS:
        rows, loaded = culture.load_rows(dataset.key)
        assert loaded == source and len(rows) == 8 and all(set(row) == SCHEMA for row in rows)
        # Stratified order, 4 + 4: the labels alternate, so `--limit 2` sees both.
        assert [row["label"] for row in rows] == [dataset.label_set[0], dataset.label_set[1]] * 4
        assert source.datasets[dataset.key]["label_counts"] == {dataset.label_set[0]: 4, dataset.label_set[1]: 4}


def test_sample_and_from_dir_exclude_each_other(cache_dir):
    with pytest.raises(UserError, match="--sample and --from-dir exclude each other"):
        culture.prepare_culture(sample=True, from_dir=FIXTURES)


def test_cli_prepares_the_culture_sample(cache_dir, capsys):
    from pipeline.cli import main

    assert main(["data", "prepare", "culture", "--sample"]) == 0
    assert "SYNTHETIC SAMPLE" in capsys.readouterr().out
    assert read_json(culture.culture_dir() / "source.json")["kind"] == "sample"


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ("off", "offensive_ar_mp", "OFF"), (" NOT ", "offensive_ar_mp", "NOT"), ("not_hs", "hate_ar_osact4", "NOT_HS"),
        ("v", "vulgar_ar_mp", "V"), ("-", "vulgar_ar_mp", "-"), ("HAM", "spam_zh_ccs", "Ham"),
        (1, "bias_zh_cdialbias", "1"), (0.0, "bias_zh_cdialbias", "0"), (True, "bias_zh_cdialbias", None),
        ("NOT_OFF", "offensive_ar_mp", None), ("2", "bias_zh_cdialbias", None), (None, "spam_zh_ccs", None),
    ],
)
def test_label_spelling_variants(raw, key, expected):
    assert culture.normalise_label(raw, get_dataset(key)) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"comment": "x", "label": "MAYBE"}', "label 'MAYBE' is not one of"),
        ('{"text": "x", "label": "OFF"}', "expected fields 'comment' and 'label'"),
        ('{"comment": "x", "label": "OFF"', "malformed JSON"),
        ('{"comment": "  ", "label": "OFF"}', "empty or non-text"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    dataset = get_dataset("offensive_ar_mp")
    data = ('{"comment": "fine", "label": "NOT"}\n' + line + "\n").encode()
    with pytest.raises(UserError, match=message) as error:
        culture.convert(dataset, data, "offens.jsonl")
    assert "offens.jsonl line 2" in error.value.problem


def test_fignews_sheet_errors(tmp_path):
    writer = _load_sheet_writer()
    header = writer.HEADER
    unknown = writer.write_sheet(tmp_path / "a.xlsx", (header, ("B01", "Arabic", "1", "MAIN", "t", "", "", "1", "Pro-Israel", "")))
    with pytest.raises(UserError, match="row 2: unknown bias class 'Pro-Israel'"):
        convert_fignews(unknown.read_bytes(), "a.xlsx")
    no_bias = writer.write_sheet(tmp_path / "b.xlsx", (header[:8], ("B01", "Arabic", "1", "MAIN", "t", "", "", "1")))
    with pytest.raises(UserError, match="no column named 'bias'"):
        convert_fignews(no_bias.read_bytes(), "b.xlsx")
    with pytest.raises(UserError, match="not a readable .xlsx"):
        convert_fignews(b"not a zip", "c.xlsx")
    # The IAA sheets of the release spell the column "Bais"; that is accepted.
    typo = tuple("Bais" if h == "Bias" else h for h in header)
    sheet = writer.write_sheet(tmp_path / "d.xlsx", (typo, ("B01", "Arabic", "1", "MAIN", "t", "", "", "1", "Unbiased", "")))
    assert convert_fignews(sheet.read_bytes(), "d.xlsx").rows == (("t", "0"),)


def test_fixture_sheet_is_what_the_writer_makes(tmp_path):
    writer = _load_sheet_writer()
    fresh = writer.write_sheet(tmp_path / "Main.xlsx")
    assert fresh.read_bytes() == (FIXTURES / culture_registry.FIGNEWS_LOCAL_PATH).read_bytes()


def test_cli_prepares_culture(cache_dir, capsys):
    from pipeline.cli import main

    assert main(["data", "prepare", "culture", "--from-dir", str(FIXTURES)]) == 0
    assert "culture data ready" in capsys.readouterr().out
    assert read_json(culture.culture_dir() / "source.json")["kind"] == "dir"
    assert read_jsonl(culture.culture_dir() / "vulgar_ar_mp.jsonl")


def test_registry_has_fifteen_required_culturellm_files_and_one_fignews_sheet():
    from collections import Counter

    from bias_inheritance.data.culture_registry import DATASETS

    assert Counter(d.source for d in DATASETS) == {"culturellm": 15, "fignews": 1}
    assert len({d.path for d in DATASETS}) == 16
