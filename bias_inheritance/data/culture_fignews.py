"""BiasFignews (Sina team, FIGNEWS 2024): its Excel annotation sheet -> (text, label) pairs.

The release is an .xlsx workbook; it is read with the standard library (an .xlsx file is a zip of
XML parts) so no spreadsheet package is needed. Only Arabic-source posts are kept (the paper's
Arabic test set). The seven bias classes become the binary question the task asks: any
"Biased against ..." class is "1", "Unbiased" is "0"; "Unclear", "Not Applicable" and unlabelled
rows cannot be scored and are excluded, each counted in the result, never dropped silently.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from xml.etree import ElementTree

from bias_inheritance.errors import UserError

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

LANGUAGE = "Arabic"
# Header spellings seen in the release ("Bais" is a typo in its IAA sheets).
TEXT_HEADERS = ("text",)
LANGUAGE_HEADERS = ("source language",)
BIAS_HEADERS = ("bias", "bais")
UNBIASED = "unbiased"
BIASED_PREFIX = "biased against"
UNSCORABLE = ("unclear", "not applicable")


@dataclass(frozen=True)
class FignewsRows:
    """Converted rows plus what was left out and why."""

    rows: tuple[tuple[str, str], ...]  # (text, "1" or "0")
    classes: dict[str, int] = field(default_factory=dict)  # original bias class -> count (Arabic rows)
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> count


def _column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference)
    if letters is None:
        raise ValueError(reference)
    index = 0
    for char in letters.group():
        index = index * 26 + (ord(char) - ord("A") + 1)
    return index - 1


def _text_of(element: ElementTree.Element) -> str:
    """Concatenated <t> runs of a shared or inline string, skipping phonetic hints (<rPh>)."""
    parts = []
    for child in element:
        if child.tag == f"{_NS}t":
            parts.append(child.text or "")
        elif child.tag == f"{_NS}r":
            parts.extend(t.text or "" for t in child.iter(f"{_NS}t"))
    return "".join(parts)


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheet = workbook.find(f"{_NS}sheets/{_NS}sheet")
    if sheet is None:
        raise ValueError("the workbook has no sheet")
    rel_id = sheet.get(f"{_REL_NS}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise ValueError("the first sheet has no part")


def read_xlsx(data: bytes) -> list[list[str | None]]:
    """Cell values of the workbook's first sheet, row by row, as strings (None for empty cells)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        shared: list[str] = []
        if "xl/sharedStrings.xml" in archive.namelist():
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = [_text_of(item) for item in root.iter(f"{_NS}si")]
        sheet = ElementTree.fromstring(archive.read(_first_sheet_path(archive)))
    table: list[list[str | None]] = []
    for row in sheet.iter(f"{_NS}row"):
        values: list[str | None] = []
        for cell in row.iter(f"{_NS}c"):
            column = _column_index(cell.get("r", "")) if cell.get("r") else len(values)
            values.extend([None] * (column - len(values) + 1))
            kind, raw = cell.get("t"), cell.find(f"{_NS}v")
            if kind == "s" and raw is not None:
                values[column] = shared[int(raw.text or 0)]
            elif kind == "inlineStr":
                inline = cell.find(f"{_NS}is")
                values[column] = _text_of(inline) if inline is not None else None
            else:
                values[column] = raw.text if raw is not None else None
        table.append(values)
    return table


def _find_column(header: list[str | None], names: tuple[str, ...], origin: str) -> int:
    normalised = [(cell or "").strip().casefold() for cell in header]
    for name in names:
        if name in normalised:
            return normalised.index(name)
    raise UserError(
        f"{origin}: no column named {names[0]!r} in the header {[c for c in header if c]}.",
        "pass the BiasFignews annotation sheet (data/Main.xlsx of SinaLab/BiasFignews).",
    )


def convert_fignews(data: bytes, origin: str) -> FignewsRows:
    """Arabic posts of a BiasFignews sheet as binary bias rows; `origin` names the file in errors."""
    try:
        table = read_xlsx(data)
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError) as exc:
        raise UserError(f"{origin} is not a readable .xlsx workbook ({exc}).", "download the sheet again.") from None
    if not table:
        raise UserError(f"{origin} has an empty first sheet.", "pass the BiasFignews annotation sheet.")
    header = table[0]
    text_col = _find_column(header, TEXT_HEADERS, origin)
    lang_col = _find_column(header, LANGUAGE_HEADERS, origin)
    bias_col = _find_column(header, BIAS_HEADERS, origin)
    rows: list[tuple[str, str]] = []
    classes: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    for number, values in enumerate(table[1:], start=2):
        cell = lambda col: (values[col] if col < len(values) else None) or ""  # noqa: E731
        if cell(lang_col).strip() != LANGUAGE:
            continue
        text, bias = cell(text_col).strip(), cell(bias_col).strip()
        classes[bias or "(empty)"] += 1
        folded = bias.casefold()
        if not bias:
            excluded["unlabelled"] += 1
        elif folded in UNSCORABLE:
            excluded[bias] += 1
        elif not text:
            excluded["empty text"] += 1
        elif folded == UNBIASED:
            rows.append((text, "0"))
        elif folded.startswith(BIASED_PREFIX):
            rows.append((text, "1"))
        else:
            raise UserError(
                f"{origin} row {number}: unknown bias class {bias!r}.",
                "expected Unbiased, Biased against ..., Unclear or Not Applicable.",
            )
    if not rows:
        raise UserError(f"{origin} holds no labelled {LANGUAGE} posts.", "pass the BiasFignews main sheet.")
    return FignewsRows(tuple(rows), dict(classes), dict(excluded))
