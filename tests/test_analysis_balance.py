"""Group balance from the generators' audits: shares and exact intervals by hand, charts, and the board's page link."""

from __future__ import annotations

import json

import pytest
from scipy.stats import binomtest

from analysis.balance import analyze_balance
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json
from generators.audit import audit_path, build_audit


def _audit(folder, name, genders_by_profession, bias_type):
    rows = [{"id": f"{name}-{p}-{i}", "bias": "gender", "bias_type": bias_type, "profession": p, "gender": g,
             "usable": True} for p, genders in genders_by_profession.items() for i, g in enumerate(genders)]
    path = audit_path(folder / f"{name}.jsonl")
    atomic_write_json(path, build_audit(rows, requested=len(rows), complete=True))
    return path


def test_female_shares_and_intervals_per_profession(tmp_path):
    _audit(tmp_path, "type4", {"nurse": ["female"] * 5 + ["male"], "architect": ["male"] * 3 + ["unknown"]}, 4)
    _audit(tmp_path, "type0", {"nurse": ["female", "male"], "architect": ["female", "male"]}, 0)
    written = analyze_balance([tmp_path], tmp_path / "out")
    document = json.loads(written["json"].read_text())
    by_type = {s["bias_type"]: s["balance"]["gender"] for s in document["sets"]}
    nurse = by_type["type 4"]["nurse"]
    interval = binomtest(5, 6).proportion_ci(0.95)
    assert (nurse["female"], nurse["known"], nurse["share"]) == (5, 6, 5 / 6)
    assert (nurse["low"], nurse["high"]) == pytest.approx((interval.low, interval.high))
    assert by_type["type 4"]["architect"] == {**by_type["type 4"]["architect"], "share": 0.0, "known": 3, "unread": 1}
    assert by_type["type 4"]["all"]["share"] == 5 / 9 and by_type["type 0"]["all"]["share"] == 0.5
    assert written["balance_gender_png"].stat().st_size > 0 and written["balance_gender_svg"].is_file()


def test_no_audits_is_one_line(tmp_path):
    with pytest.raises(UserError, match="No .audit.json files"):
        analyze_balance([tmp_path], tmp_path / "out")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(UserError, match="neither an audit"):
        analyze_balance([tmp_path / "x.txt"], tmp_path / "out")


def test_an_analysis_written_into_a_board_is_linked_from_its_page(tmp_path):
    from html.parser import HTMLParser

    from leaderboard.build import build_board
    from pipeline.cli import main
    from tests.test_leaderboard_board import lm_eval_results

    results = lm_eval_results(tmp_path / "r", {"arc_easy": {"acc,none": 0.5, "acc_stderr,none": 0.1}}, pretrained="org/m")
    board = tmp_path / "board"
    build_board([results], board)
    (tmp_path / "audits").mkdir()
    _audit(tmp_path / "audits", "type4", {"nurse": ["female", "male"]}, 4)
    assert main(["analyze", "balance", str(tmp_path / "audits"), "--out", str(board / "analysis" / "balance")]) == 0

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.found += [v for k, v in attrs if k in ("href", "src")]

    parser = Links()
    parser.feed((board / "index.html").read_text())
    assert {"analysis/balance/balance_gender.png", "analysis/balance/balance.json"} <= set(parser.found)
