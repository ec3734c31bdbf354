import errno
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance.errors import UserError
from generators import journal
from generators.journal import Journal, read_journal

ROWS = st.lists(st.fixed_dictionaries({"id": st.sampled_from("abcdefgh"), "text": st.text(max_size=12)}), max_size=8)


def _bytes(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _first_per_id(rows):
    seen, out = set(), []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            out.append(row)
    return out


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, data=st.data())
def test_a_journal_cut_anywhere_reads_as_its_complete_rows_and_reopens_clean(tmp_path_factory, rows, data):
    """Whatever byte a kill stops a write at, readers see the complete rows before it, deduplicated."""
    full = _bytes(rows)
    cut = data.draw(st.integers(0, len(full)))
    path = tmp_path_factory.mktemp("j") / "a.jsonl"
    path.write_bytes(full[:cut])
    complete = full[:cut].count(b"\n")
    expected = _first_per_id(rows[:complete])
    contents = read_journal(path)
    assert contents.rows == expected
    assert contents.duplicates == complete - len(expected)
    assert contents.complete_bytes == len(_bytes(rows[:complete])) and contents.torn_bytes == cut - contents.complete_bytes
    with Journal.open(path) as opened:
        assert opened.rows == expected and opened.repaired_bytes == contents.torn_bytes
        appended = opened.append([{"id": "new", "text": "x"}, *rows])
    known = {row["id"] for row in expected}
    assert appended == [r for r in _first_per_id([{"id": "new", "text": "x"}, *rows]) if r["id"] not in known]
    again = read_journal(path)
    assert again.torn_bytes == 0 and [r["id"] for r in again.rows] == [r["id"] for r in expected] + [r["id"] for r in appended]


def test_append_is_durable_and_skips_known_ids(tmp_path):
    path = tmp_path / "a.jsonl"
    with Journal.open(path) as j:
        assert j.append([{"id": "1", "t": "é"}, {"id": "2"}, {"id": "1", "t": "later"}]) == [{"id": "1", "t": "é"}, {"id": "2"}]
        assert j.append([{"id": "2"}]) == []
    assert path.read_text(encoding="utf-8") == '{"id": "1", "t": "é"}\n{"id": "2"}\n'


@pytest.mark.parametrize("tail", [b'{"id": "3"}', b"\x00\x00\x00\x00", b'{"id": "3", "te', b"\x00\x00\n\x00", b"not json\n"])
def test_a_torn_or_garbage_tail_is_cut_on_reopening(tmp_path, tail):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": "2"}\n' + tail)
    assert [r["id"] for r in read_journal(path).rows] == ["1", "2"] and read_journal(path).torn_bytes == len(tail)
    with Journal.open(path) as j:
        j.append([{"id": "3"}])
    assert path.read_bytes() == b'{"id": "1"}\n{"id": "2"}\n{"id": "3"}\n'


def test_a_damaged_line_with_rows_after_it_is_an_error_not_a_silent_loss(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": \n{"id": "3"}\n')
    with pytest.raises(UserError, match=r"a\.jsonl line 2 is not a complete row, yet rows follow it"):
        read_journal(path)
    with pytest.raises(UserError):
        Journal.open(path)
    assert path.read_bytes() == b'{"id": "1"}\n{"id": \n{"id": "3"}\n'


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "a.jsonl"
    with Journal.open(path):
        with pytest.raises(UserError, match="Another process is generating into"):
            Journal.open(path)
    with Journal.open(path) as j:  # released on close
        assert j.rows == []


def test_a_failed_write_is_cut_back_to_the_last_complete_row(tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    with Journal.open(path) as j:
        j.append([{"id": "1"}])

        def half_then_full(fd, data):
            journal.os.write(fd, data[:5])
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(journal, "_write", half_then_full)
        with pytest.raises(OSError):
            j.append([{"id": "2"}, {"id": "3"}])
        assert j.ids == {"1"}
    assert path.read_bytes() == b'{"id": "1"}\n'


def test_disk_errors_turn_only_a_full_disk_into_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"^No space left on the device while writing x\.jsonl \(3 rows kept\)\. Fix: free"):
        with journal.disk_errors("x.jsonl", "3 rows kept"):
            raise OSError(errno.ENOSPC, "full")
    with pytest.raises(PermissionError):
        with journal.disk_errors("x.jsonl", "3 rows kept"):
            raise PermissionError(errno.EACCES, "denied")
