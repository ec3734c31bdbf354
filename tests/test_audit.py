import json
import random

import pytest

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from generators import audit
from generators.audit import audit_text, build_audit


def _row(i, profession, gender, *, usable=True, reason=None, attempts=1, text="She works.", bias_type=4, **extra):
    return {"id": f"g{i}", "bias": "gender", "bias_type": bias_type, "profession": profession, "gender": gender,
            "text": text, "usable": usable, "unusable_reason": reason, "attempts": attempts, **extra}


def _pair(first, second, workplace):
    return {"workplace": workplace, "candidates": [{"gender": first, "age": 30}, {"gender": second, "age": 40}]}


GENDER_ROWS = [
    _row(0, "architect", "female", attributes=_pair("male", "female", "architecture firm"), about=1),
    _row(1, "architect", "male", attempts=2, attributes=_pair("female", "male", "architecture firm"), about=1),
    _row(2, "architect", "unknown", attributes=_pair("male", "female", "architecture firm"), about=None),
    _row(3, "nurse", "female", attributes=_pair("male", "female", "hospital"), about=0),
    _row(4, "nurse", "unknown", usable=False, reason="refusal", attempts=3, text="I cannot.",
         attributes=_pair("female", "male", "hospital"), about=None),
    _row(5, "nurse", "unknown", usable=False, reason="empty", attempts=3, text=" ",
         attributes=_pair("male", "female", "hospital"), about=None),
]


def test_gender_audit_by_hand():
    result = build_audit(GENDER_ROWS, requested=6, complete=True)
    assert result["status"] == "complete" and result["rows"] == 6 and result["usable"] == 4 and result["requested"] == 6
    assert result["bias"] == ["gender"] and result["bias_types"] == {"4": 6}
    assert result["empty"] == 1 and result["unusable_reasons"] == {"empty": 1, "refusal": 1}
    assert result["retries"] == {"rows_retried": 3, "extra_generations": 5, "usable_after_retry": 1,
                                 "attempts": {"1": 3, "2": 1, "3": 2}}
    groups = result["groups"]["gender"]
    assert groups["by"] == "profession" and groups["counted"] == "gender"
    assert groups["cells"] == {"architect": {"female": 1, "male": 1, "unknown": 1}, "nurse": {"female": 1}}
    assert groups["female_share"] == {"architect": 0.5, "nurse": 1.0, "all": 2 / 3}
    assert result["attributes"] == {
        "candidates.age": {"30": 6, "40": 6}, "candidates.gender": {"female": 6, "male": 6},
        "candidates[0].age": {"30": 6}, "candidates[0].gender": {"female": 2, "male": 4},
        "candidates[1].age": {"40": 6}, "candidates[1].gender": {"female": 4, "male": 2},
        "workplace": {"architecture firm": 3, "hospital": 3}}
    # usable rows: about 1 (female), 1 (male), None, 0 (male)
    assert result["about"] == {"about": {"0": 1, "1": 2, "(none)": 1}, "about.age": {"30": 1, "40": 2},
                               "about.gender": {"female": 1, "male": 2}}
    assert "journal" not in result


def test_culture_answers_per_culture_and_pair_as_option_letters():
    def row(i, culture, cultures, answer_index, ages, **extra):
        return {"id": f"c{i}", "bias": "culture", "bias_type": 1 if culture else 4, "culture": culture,
                "cultures": cultures, "answer_index": answer_index, "text": "(A)", "usable": answer_index is not None,
                "unusable_reason": None if answer_index is not None else "unparseable", "attempts": 1,
                "attributes": {"cultures": cultures, "ages": ages}, **extra}

    rows = [row(0, "arabic", ["arabic"], 0, [100]), row(1, "arabic", ["arabic"], 1, [20]),
            row(2, "arabic", ["arabic"], 0, [80]), row(3, None, ["chinese", "spanish"], 3, [20, 80]),
            row(4, "spanish", ["spanish"], None, [30])]
    result = build_audit(rows, requested=None, complete=True)
    assert result["groups"] == {"culture": {"by": "culture or cultures", "counted": "option",
                                            "cells": {"arabic": {"A": 2, "B": 1}, "chinese vs spanish": {"D": 1}}}}
    assert list(result["attributes"]["ages"]) == ["20", "30", "80", "100"]  # numbers in numeric order
    assert result["attributes"]["ages"] == {"20": 2, "30": 1, "80": 2, "100": 1}
    assert result["attributes"]["cultures"] == {"arabic": 3, "chinese": 1, "spanish": 2}
    assert result["attributes"]["cultures[0]"] == {"chinese": 1} and result["attributes"]["cultures[1]"] == {"spanish": 1}
    assert result["attributes"]["ages[0]"] == {"20": 1} and "ages[2]" not in result["attributes"]
    assert result["bias_types"] == {"1": 4, "4": 1} and result["unusable_reasons"] == {"unparseable": 1}
    assert audit.render(result, "c.jsonl").splitlines()[4:9] == [
        "culture groups (usable rows): option per culture or cultures",
        "  culture or cultures           A         B         D",
        "  arabic                        2         1         0",
        "  chinese vs spanish            0         0         1",
        "  all                           2         1         1",
    ]


def test_the_audit_does_not_depend_on_row_order():
    shuffled = GENDER_ROWS[:]
    random.Random(3).shuffle(shuffled)
    first = json.dumps(build_audit(GENDER_ROWS, requested=6, complete=True))
    assert json.dumps(build_audit(shuffled, requested=6, complete=True)) == first


def test_text_of_a_finished_set(tmp_path):
    out = tmp_path / "a.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in GENDER_ROWS))
    cards.write_card(out, "generate", {"count": 6}, status="complete")
    text = audit_text(out)
    assert text.splitlines()[:4] == [
        f"Audit of {out} (complete): 6 rows of 6 requested, 4 usable",
        "bias: gender; bias types: 4 (6 rows)",
        "unusable: 2 (empty 1, refusal 1); empty texts: 1",
        "retries: 3 rows retried (5 extra generations), 1 usable after a retry",
    ]
    assert text.splitlines()[4:9] == [
        "gender groups (usable rows): gender per profession",
        "  profession      female      male   unknown   female_share",
        "  architect            1         1         1          0.500",
        "  nurse                1         0         0          1.000",
        "  all                  2         1         1          0.667",
    ]
    assert "  candidates.gender: female 6, male 6" in text
    assert text.splitlines()[-4:] == ["about (usable rows; whom a contrastive text is about, 0 = the candidate named first):",
                                      "  about: 0 1, 1 2, (none) 1", "  about.age: 30 1, 40 2", "  about.gender: female 1, male 2"]
    assert "PARTIAL" not in text


def test_text_of_a_set_still_being_generated_says_so(tmp_path):
    out = tmp_path / "a.jsonl"
    out.write_bytes("".join(json.dumps(r) + "\n" for r in GENDER_ROWS[:2]).encode() + b'{"id": "g2", "bi')
    cards.write_card(out, "generate", {"count": 6}, status="partial")
    lines = audit_text(out).splitlines()
    assert lines[0] == f"Audit of {out} (partial): 2 rows of 6 requested, 2 usable"
    assert lines[1].startswith("PARTIAL: generation has not finished")
    assert lines[2] == "journal: a torn last line of 16 bytes ignored, 0 duplicate rows ignored"
    (tmp_path / "a.card.json").unlink()
    assert audit_text(out).splitlines()[0] == f"Audit of {out} (partial): 2 rows, 2 usable"


def test_write_audit_beside_the_set(tmp_path):
    path = audit.write_audit(tmp_path / "set.jsonl", GENDER_ROWS, requested=6, complete=True)
    assert path == tmp_path / "set.audit.json"
    assert json.loads(path.read_text()) == {"file": "set.jsonl", **build_audit(GENDER_ROWS, requested=6, complete=True)}


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        audit_text(tmp_path / "nope.jsonl")
