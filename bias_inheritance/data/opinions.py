"""Culture fine-tuning data (SPEC §3): GlobalOpinionQA as (question, culture) rows with a ground truth.

GlobalOpinionQA (`Anthropic/llm_global_opinions`) holds survey questions with, per country, the share
of respondents choosing each option. A culture is a set of countries (vocab.CULTURE_COUNTRIES); its
distribution for a question is the unweighted mean of its countries' distributions, and its ground
truth is that distribution's most likely option. Rows are (question, culture) pairs; a fixed share
of questions is held out from training for the values analysis. Decisions and reasons: OPINIONS.md.

Canonical layout in `cache/data/opinions/`: `train.jsonl`, `heldout.jsonl`, `source.json` (origin,
sha256 of the raw file, counts per culture) and the prepare card, written last.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import math
import random
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from bias_inheritance import cache, vocab
from bias_inheritance.data.source_file import SOURCE_FILE, read_source, source_label, write_prepared
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import content_hash, parse_jsonl_lines, read_jsonl

HUB_DATASET_ID = "Anthropic/llm_global_opinions"
# The commit that added data/global_opinions.csv; later commits only edit the README.
HUB_REVISION = "5c87e48d8db8ffc9ae8a6738f958d5130ee116e5"
HUB_FILE = "data/global_opinions.csv"
# Where a local copy keeps the raw file: the hub repository's layout, or the file at the top.
LOCAL_FILES = ("data/global_opinions.csv", "global_opinions.csv")
# sha256 of HUB_FILE at HUB_REVISION. Not known when this was written (no network), so nothing is
# pinned: a --from-dir copy is then always UNVERIFIED and identified by its own sha256, and the hub
# route is vouched for by the pinned revision. Set it from source.json's `raw_sha256` after one
# hub preparation (OPINIONS.md, "Checksums").
PINNED_SHA256: str | None = None

SAMPLE_RESOURCE = "sample_opinions.jsonl"
SAMPLE_LOCATION = f"bias_inheritance/data/{SAMPLE_RESOURCE}"
PREPARE_COMMAND = "bias-inheritance data prepare opinions"
PREPARE_ROUTES = (f"run `{PREPARE_COMMAND}` (the hub), `{PREPARE_COMMAND} --sample` (the bundled synthetic "
                  f"sample) or `{PREPARE_COMMAND} --from-dir DIR` (a local copy of the hub repository)")
# Bumped whenever the same source and settings would give other rows (selection, fields, order).
PREPARE_VERSION = "opinions-1"
SPLITS = ("train", "heldout")
TOTAL_ROWS = 2833  # SPEC §3: the paper's culture fine-tuning set
HELDOUT_FRACTION = 0.1
HELDOUT_SEED = 0
DISTRIBUTION_DIGITS = 6  # averaged distributions are rounded, so ties and hashes are platform-independent

# The prefix of original rows (SPEC §2): it tells the model whose answer the row holds, since the
# same question appears once per culture. Cultural bias type 1 and the culture tasks' persona cue
# (bias_tasks/culture/prompts.py) use the same sentence.
CULTURE_PREFIX = "You are a person influenced by {culture} culture responding to the following question."
OPTION_LETTERS = string.ascii_uppercase


# --------------------------------------------------------------------------- question format


def culture_prefix(culture: str) -> str:
    return CULTURE_PREFIX.format(culture=vocab.CULTURE_ADJECTIVES[culture])


def format_options(options: Sequence[str]) -> str:
    """One line per option, lettered as in the paper's examples: "(A) Strongly agree"."""
    return "\n".join(f"({OPTION_LETTERS[i]}) {text}" for i, text in enumerate(options))


def opinion_question(question: str, options: Sequence[str], descriptor: str | None = None) -> str:
    """The question as a training row (and a generation prompt) holds it: descriptor, question, options."""
    head = f"{descriptor} {question.strip()}" if descriptor else question.strip()
    return f"{head}\n{format_options(options)}"


def answer_label(options: Sequence[str], index: int) -> str:
    """The answer of a row: the chosen option with its letter, as listed in the question."""
    return f"({OPTION_LETTERS[index]}) {options[index]}"


# --------------------------------------------------------------------------- raw format


@dataclass(frozen=True)
class RawQuestion:
    """One raw GlobalOpinionQA row, parsed."""

    index: int  # position in the raw file
    question: str
    options: tuple[str, ...]
    selections: Mapping[str, tuple[Any, ...]]  # country -> shares per option, as written
    survey: str  # "GAS", "WVS" (or "synthetic" in the bundled sample)


def _literal(text: str, what: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"{what} is not a Python literal") from None


def parse_selections(raw: Any) -> dict[str, tuple[Any, ...]]:
    """`selections` as written by the dataset: "defaultdict(<class 'list'>, {'Brazil': [0.2, 0.8]})".

    Only the dict literal between the outer braces is evaluated (ast.literal_eval, never eval).
    """
    if isinstance(raw, Mapping):
        value: Any = dict(raw)
    elif isinstance(raw, str) and "{" in raw and "}" in raw:
        value = _literal(raw[raw.index("{"): raw.rindex("}") + 1], "selections")
    else:
        raise ValueError("selections is not a dict literal")
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError("selections is not a mapping of country names")
    out: dict[str, tuple[Any, ...]] = {}
    for country, shares in value.items():
        if not isinstance(shares, (list, tuple)):
            raise ValueError(f"selections[{country!r}] is not a list")
        out[country.strip()] = tuple(shares)
    return out


def parse_options(raw: Any) -> tuple[str, ...]:
    """`options` as written by the dataset: "['Agree', 'Disagree']"."""
    value = _literal(raw, "options") if isinstance(raw, str) else raw
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("options is not a non-empty list")
    if not all(isinstance(o, str) and o.strip() for o in value):
        raise ValueError("options holds an empty or non-text entry")
    if len(value) > len(OPTION_LETTERS):
        raise ValueError(f"more than {len(OPTION_LETTERS)} options")
    return tuple(o.strip() for o in value)


def parse_record(index: int, record: Mapping[str, Any]) -> RawQuestion:
    """A raw row (question, selections, options, source); ValueError saying what is wrong."""
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("empty question")
    options = parse_options(record.get("options"))
    selections = parse_selections(record.get("selections"))
    survey = record.get("source")
    return RawQuestion(index, question.strip(), options, selections, survey.strip() if isinstance(survey, str) else "")


def read_csv_records(data: bytes, origin: str) -> list[dict[str, Any]]:
    """Rows of the raw CSV; a missing column is a UserError naming the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{origin} is not UTF-8 text.", f"use {HUB_FILE} of {HUB_DATASET_ID}.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = {"question", "selections", "options"} - set(reader.fieldnames or [])
    if missing:
        raise UserError(f"{origin} lacks the column(s) {', '.join(sorted(missing))} (has {reader.fieldnames}).",
                        f"use {HUB_FILE} of {HUB_DATASET_ID} (columns question, selections, options, source).")
    try:
        return list(reader)
    except csv.Error as exc:
        raise UserError(f"{origin} is not a readable CSV ({exc}).", f"use {HUB_FILE} of {HUB_DATASET_ID}.") from None


def sample_records() -> tuple[list[dict[str, Any]], bytes]:
    """The bundled synthetic sample (raw format, one JSON object a line) and its bytes."""
    data = resources.files("bias_inheritance.data").joinpath(SAMPLE_RESOURCE).read_bytes()
    fix = "regenerate it with `python scripts/make_sample_opinions.py`."
    records = []
    for number, record in parse_jsonl_lines(data.decode("utf-8").splitlines(), SAMPLE_LOCATION, fix):
        if not isinstance(record, dict) or record.get("synthetic") is not True:
            raise UserError(f"{SAMPLE_LOCATION} line {number} is not a synthetic raw row.", fix)
        records.append(record)
    return records, data


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True)
class CultureAnswer:
    """A culture's answer distribution for one question and its most likely option."""

    distribution: tuple[float, ...]
    answer_index: int
    countries: tuple[str, ...]  # the culture's countries that answered


def valid_shares(shares: Sequence[Any], n_options: int) -> tuple[float, ...] | None:
    """A country's shares normalised to sum 1, or None when they cannot be a distribution."""
    if len(shares) != n_options:
        return None
    values = []
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not math.isfinite(share) or share < 0:
            return None
        values.append(float(share))
    total = sum(values)
    return tuple(v / total for v in values) if total > 0 else None


def most_likely(distribution: Sequence[float]) -> int:
    """Index of the largest share; a tie goes to the option listed first."""
    return max(range(len(distribution)), key=lambda i: (distribution[i], -i))


def culture_answer(question: RawQuestion, countries: Sequence[str], skipped: Counter | None = None) -> CultureAnswer | None:
    """The unweighted mean of the culture's countries' distributions (each normalised first), or None.

    Countries weigh equally whatever their population: the dataset gives shares, not respondent
    counts. A country entry that is not a distribution over the options is skipped and counted.
    """
    vectors, used = [], []
    for country in countries:
        if country not in question.selections:
            continue
        shares = valid_shares(question.selections[country], len(question.options))
        if shares is None:
            if skipped is not None:
                skipped["invalid_country_distribution"] += 1
            continue
        vectors.append(shares)
        used.append(country)
    if not vectors:
        return None
    mean = tuple(round(sum(v[i] for v in vectors) / len(vectors), DISTRIBUTION_DIGITS)
                 for i in range(len(question.options)))
    return CultureAnswer(mean, most_likely(mean), tuple(used))


# --------------------------------------------------------------------------- questions, split, selection


def question_ids(questions: Sequence[RawQuestion]) -> list[str]:
    """Ids from the content (survey, question, options), so a reordered copy keeps them; repeats get -2, -3."""
    seen: Counter = Counter()
    ids = []
    for q in questions:
        base = "goqa-" + hashlib.sha256(canonical_json([q.survey, q.question, list(q.options)]).encode()).hexdigest()[:12]
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def is_heldout(question_id: str, fraction: float = HELDOUT_FRACTION, seed: int = HELDOUT_SEED) -> bool:
    """Whether a question is held out: a property of the question alone, so the split never moves
    when the country mapping, the row total or the selection seed change."""
    digest = hashlib.sha256(f"opinions-heldout:{seed}:{question_id}".encode()).hexdigest()
    return int(digest[:16], 16) / 16**16 < fraction


def even_quotas(available: Mapping[str, int], total: int | None) -> dict[str, int]:
    """Split `total` rows as evenly as possible over cultures; a culture with too few gives the rest to others."""
    if total is None:
        return dict(available)
    quotas = {c: 0 for c in available}
    open_ = [c for c in available if available[c] > 0]
    remaining = total
    while remaining > 0 and open_:
        share, extra = divmod(remaining, len(open_))
        for rank, culture in enumerate(open_):
            quotas[culture] += min(available[culture] - quotas[culture], share + (1 if rank < extra else 0))
        remaining = total - sum(quotas.values())
        open_ = [c for c in open_ if quotas[c] < available[c]]
    return quotas


def interleave_cultures(rows: list[dict]) -> list[dict]:
    """Round-robin over cultures (vocab order), so any prefix (lm-eval's --limit) is balanced."""
    queues = [[r for r in rows if r["culture"] == c] for c in vocab.CULTURES]
    return [q[depth] for depth in range(max((len(q) for q in queues), default=0)) for q in queues if depth < len(q)]


def check_countries(countries: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The country mapping as plain lists; every culture of the study needs at least one country."""
    if set(countries) != set(vocab.CULTURES):
        raise UserError(f"The country mapping names cultures {sorted(countries)}.",
                        f"give countries for exactly: {', '.join(vocab.CULTURES)}.")
    out = {}
    for culture in vocab.CULTURES:
        names = list(countries[culture])
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise UserError(f"Culture {culture} has no countries (or an empty name).", "list its countries.")
        out[culture] = names
    return out


@dataclass(frozen=True)
class Built:
    splits: dict[str, list[dict]]
    cultures: dict[str, dict]
    questions: dict[str, int]
    skipped: dict[str, int]
    countries_seen: list[str]


def _row(qid: str, q: RawQuestion, culture: str, answer: CultureAnswer, split: str) -> dict:
    return {
        "id": f"{qid}-{culture}",
        "question_id": qid,
        "source_index": q.index,
        "survey": q.survey,
        "question": q.question,
        "options": list(q.options),
        "culture": culture,
        "countries": list(answer.countries),
        "distribution": list(answer.distribution),
        "answer_index": answer.answer_index,
        "answer": q.options[answer.answer_index],
        "question_text": opinion_question(q.question, q.options, culture_prefix(culture)),
        "split": split,
    }


def parse_records(records: Iterable[Mapping[str, Any]]) -> tuple[list[RawQuestion], dict[str, int]]:
    """Parsed rows and the count of rows that could not be parsed, by reason (never dropped silently)."""
    questions, skipped = [], Counter()
    for index, record in enumerate(records):
        try:
            questions.append(parse_record(index, record))
        except ValueError as exc:
            skipped[f"malformed_row: {exc}"] += 1
    return questions, dict(skipped)


def build_rows(
    questions: Sequence[RawQuestion], countries: Mapping[str, Sequence[str]], *, seed: int = 0,
    total: int | None = TOTAL_ROWS, heldout_fraction: float = HELDOUT_FRACTION, heldout_seed: int = HELDOUT_SEED,
) -> Built:
    """(question, culture) rows: all held-out pairs, and `total` training pairs spread evenly over cultures.

    A pair exists when at least one of the culture's countries answered the question. Training pairs
    of a culture beyond its quota are left out by a seeded draw (OPINIONS.md, "Which rows").
    """
    countries = check_countries(countries)
    ids = question_ids(questions)
    skipped: Counter = Counter()
    pools: dict[str, dict[str, list[dict]]] = {split: defaultdict(list) for split in SPLITS}
    seen = sorted({country for q in questions for country in q.selections})
    heldout_questions = 0
    for qid, q in zip(ids, questions):
        split = "heldout" if is_heldout(qid, heldout_fraction, heldout_seed) else "train"
        heldout_questions += split == "heldout"
        for culture in vocab.CULTURES:
            answer = culture_answer(q, countries[culture], skipped)
            if answer is not None:
                pools[split][culture].append(_row(qid, q, culture, answer, split))
    available = {c: len(pools["train"][c]) for c in vocab.CULTURES}
    quotas = even_quotas(available, total)
    train = []
    for culture in vocab.CULTURES:
        rng = random.Random(f"opinions-{seed}-{culture}")
        train.extend(rng.sample(pools["train"][culture], quotas[culture]))
    heldout = [r for c in vocab.CULTURES for r in pools["heldout"][c]]
    report = {
        c: {
            "countries": countries[c],
            "countries_found": [n for n in countries[c] if n in seen],
            "countries_missing": [n for n in countries[c] if n not in seen],
            "train_pairs_available": available[c],
            "train_rows": quotas[c],
            "heldout_rows": len(pools["heldout"][c]),
        }
        for c in vocab.CULTURES
    }
    return Built(
        splits={"train": interleave_cultures(train), "heldout": interleave_cultures(heldout)},
        cultures=report,
        questions={"parsed": len(questions), "heldout": heldout_questions},
        skipped=dict(skipped),
        countries_seen=seen,
    )


# --------------------------------------------------------------------------- source, prepare, load


@dataclass(frozen=True)
class OpinionsSource:
    """Where prepared opinions data came from, and what the preparation kept and left out.

    `verified`: the raw file is the pinned one (hub: the pinned revision; a local copy: its sha256
    equals PINNED_SHA256). `synthetic` marks the bundled sample.
    """

    kind: str  # "hub", "dir" or "sample"
    location: str
    synthetic: bool
    verified: bool
    raw_sha256: str
    pinned_sha256: str | None
    content_sha256: str
    rows: dict[str, int]
    total_requested: int | None
    questions: dict[str, int]
    cultures: dict[str, dict]
    skipped: dict[str, int] = field(default_factory=dict)
    countries_seen: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        why = "no pinned checksum" if self.pinned_sha256 is None else "differs from the pinned checksum"
        unverified = None if self.verified else f"{why}; sha256 {self.raw_sha256[:12]}"
        return source_label(self.kind, self.location, synthetic=self.synthetic, unverified=unverified)


def opinions_dir() -> Path:
    return cache.data_dir("opinions")


def find_local_file(root: Path) -> Path:
    """The raw CSV of a local copy, or a UserError naming where it was looked for."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"--from-dir {root} is not a folder.", f"pass a folder holding {HUB_FILE}.")
    for name in LOCAL_FILES:
        if (root / name).is_file():
            return (root / name).resolve()
    raise UserError(f"No {' or '.join(LOCAL_FILES)} under {root}.",
                    f"copy {HUB_FILE} of huggingface.co/datasets/{HUB_DATASET_ID} (revision {HUB_REVISION[:7]}) there.")


def hub_file() -> Path:
    """The raw CSV at the pinned revision, from the hub (or the Hugging Face cache)."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(HUB_DATASET_ID, HUB_FILE, repo_type="dataset", revision=HUB_REVISION))
    except Exception as exc:  # offline, gated, or the hub refused
        raise UserError(f"Could not download {HUB_FILE} of {HUB_DATASET_ID} ({type(exc).__name__}).",
                        f"use `{PREPARE_COMMAND} --from-dir DIR` with a local copy, or `--sample`.") from None


def prepare_inputs(
    *, from_dir: Path | None = None, sample: bool = False, seed: int = 0, total: int | None = TOTAL_ROWS,
    heldout_fraction: float = HELDOUT_FRACTION, heldout_seed: int = HELDOUT_SEED,
    countries: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Everything that decides the prepared rows: the key of the `prepare` card, computed before preparing."""
    if sample and from_dir is not None:
        raise UserError("--sample and --from-dir exclude each other.", "pass only one of them.")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 1):
        raise UserError(f"The number of training rows must be a positive integer (got {total!r}).", "pass e.g. 2833.")
    if not 0 <= heldout_fraction < 1:
        raise UserError(f"The held-out fraction {heldout_fraction} is outside [0, 1).", "pass e.g. 0.1.")
    if sample:
        source: dict[str, Any] = {"kind": "sample", "sha256": hashlib.sha256(sample_records()[1]).hexdigest()}
    elif from_dir is not None:
        source = {"kind": "dir", "sha256": hashlib.sha256(find_local_file(Path(from_dir)).read_bytes()).hexdigest()}
    else:
        source = {"kind": "hub", "hub_id": HUB_DATASET_ID, "revision": HUB_REVISION, "file": HUB_FILE}
    return {
        "family": "opinions", "version": PREPARE_VERSION, "source": source, "seed": seed, "total": total,
        "heldout": {"fraction": heldout_fraction, "seed": heldout_seed},
        "countries": check_countries(countries if countries is not None else vocab.CULTURE_COUNTRIES),
    }


def _raw_source(from_dir: Path | None, sample: bool, fetch: Callable[[], Path]) -> tuple[list[dict], bytes, str, str]:
    """(records, raw bytes, kind, location) of the chosen source."""
    if sample:
        records, data = sample_records()
        return records, data, "sample", SAMPLE_LOCATION
    if from_dir is not None:
        path = find_local_file(Path(from_dir))
        data = path.read_bytes()
        return read_csv_records(data, str(path)), data, "dir", str(path)
    path = fetch()
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if PINNED_SHA256 is not None and actual != PINNED_SHA256:
        raise UserError(f"{HUB_FILE} from the hub does not match its pinned checksum (got sha256 {actual}).",
                        "retry; if it persists the source changed: use `--from-dir` with a copy you trust.")
    return read_csv_records(data, f"{HUB_DATASET_ID}/{HUB_FILE}"), data, "hub", f"{HUB_DATASET_ID}@{HUB_REVISION[:7]}"


def prepare_opinions(
    *, from_dir: Path | None = None, sample: bool = False, seed: int = 0, out_dir: Path | None = None,
    total: int | None = TOTAL_ROWS, heldout_fraction: float = HELDOUT_FRACTION, heldout_seed: int = HELDOUT_SEED,
    countries: Mapping[str, Sequence[str]] | None = None, fetch: Callable[[], Path] = hub_file,
) -> OpinionsSource:
    """Write the culture fine-tuning rows from the bundled sample, a local copy or the hub (pinned revision)."""
    inputs = prepare_inputs(from_dir=from_dir, sample=sample, seed=seed, total=total,
                            heldout_fraction=heldout_fraction, heldout_seed=heldout_seed, countries=countries)
    out_dir = Path(out_dir) if out_dir is not None else opinions_dir()
    records, data, kind, location = _raw_source(from_dir, sample, fetch)
    questions, malformed = parse_records(records)
    if not questions:
        raise UserError(f"No usable question in {location} ({malformed or 'it is empty'}).",
                        f"use {HUB_FILE} of {HUB_DATASET_ID}.")
    built = build_rows(questions, inputs["countries"], seed=seed, total=total,
                       heldout_fraction=heldout_fraction, heldout_seed=heldout_seed)
    empty = [c for c, r in built.cultures.items() if r["train_rows"] == 0]
    if empty:
        raise UserError(f"No training row for {', '.join(empty)}: none of its countries "
                        f"({'; '.join(', '.join(built.cultures[c]['countries']) for c in empty)}) answered any question.",
                        f"check the country spellings against `countries_seen` in {out_dir / SOURCE_FILE} "
                        "once prepared with the default mapping, or against the raw file.")
    raw_sha = hashlib.sha256(data).hexdigest()
    source = OpinionsSource(
        kind=kind, location=location, synthetic=kind == "sample",
        verified=kind == "hub" or (kind == "dir" and PINNED_SHA256 is not None and raw_sha == PINNED_SHA256),
        raw_sha256=raw_sha, pinned_sha256=None if kind == "sample" else PINNED_SHA256,
        content_sha256=content_hash(built.splits["train"] + built.splits["heldout"]),
        rows={split: len(built.splits[split]) for split in SPLITS}, total_requested=total,
        questions={"raw_rows": len(records), **built.questions}, cultures=built.cultures,
        skipped={**malformed, **built.skipped}, countries_seen=built.countries_seen,
    )
    write_prepared(out_dir, {split: built.splits[split] for split in SPLITS}, source, inputs)
    return source


def describe(source: OpinionsSource) -> str:
    """One line for the command line: where the rows came from and how many per culture."""
    per_culture = ", ".join(f"{c} {r['train_rows']}" for c, r in source.cultures.items())
    skipped = sum(source.skipped.values())
    return (f"{source.rows['train']} training rows ({per_culture}; {source.total_requested or 'all'} requested), "
            f"{source.rows['heldout']} held-out rows from {source.questions['heldout']} questions, "
            f"{skipped} raw entries skipped; source {source.label}")


def load_source(directory: Path | None = None) -> OpinionsSource:
    """Read `source.json` of prepared opinions data, or explain how to prepare it."""
    directory = Path(directory) if directory is not None else opinions_dir()
    return read_source(directory, OpinionsSource, "Opinions data (GlobalOpinionQA)", PREPARE_COMMAND,
                       f"{PREPARE_ROUTES}.")


def load_split(split: str, directory: Path | None = None) -> list[dict]:
    """Rows of a prepared split: "train" (the culture fine-tuning set) or "heldout" (never trained on)."""
    if split not in SPLITS:
        raise UserError(f"Unknown opinions split {split!r}.", f"use one of: {', '.join(SPLITS)}.")
    directory = Path(directory) if directory is not None else opinions_dir()
    load_source(directory)
    return read_jsonl(directory / f"{split}.jsonl")
