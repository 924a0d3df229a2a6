"""Files written whole: a failure or a kill leaves the previous file or the new one, never a part or a temporary."""

import json

import pytest

from infogan_tf import records


def test_bytes_written_whole_replace_the_old_file_and_leave_no_temporary(tmp_path):
    path = tmp_path / "code_0.png"
    records.write_bytes_atomically(path, b"first")
    records.write_bytes_atomically(path, b"second")
    assert path.read_bytes() == b"second" and sorted(p.name for p in tmp_path.iterdir()) == ["code_0.png"]


def test_a_write_that_fails_before_its_rename_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "code_0.gif"
    records.write_bytes_atomically(path, b"old")

    def interrupted(src, dst):
        raise KeyboardInterrupt  # as a signal arriving between the write and the rename

    monkeypatch.setattr(records.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        records.write_bytes_atomically(path, b"new, never seen")
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["code_0.gif"]


def test_json_is_written_whole_and_read_back(tmp_path):
    path = tmp_path / "restarts.json"
    records.write_json_atomically(path, {"chosen": {"seed": 1}})
    assert json.loads(path.read_text()) == {"chosen": {"seed": 1}}
