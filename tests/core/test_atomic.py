import pytest
from saerepro.core.atomic import atomic_directory, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_files(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "one")
    atomic_write_json(path, {"b": 2})
    assert path.read_text() == '{\n  "b": 2\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_failed_directory_write_leaves_the_old_one_and_no_temp(tmp_path):
    target = tmp_path / "ck"
    with atomic_directory(target) as tmp:
        (tmp / "w").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "w").write_text("half")
        raise RuntimeError("interrupted")
    assert (target / "w").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


def test_the_next_write_sweeps_what_a_killed_write_left_behind(tmp_path):
    (tmp_path / ".ck.abc123.tmp").mkdir()  # a folder write killed by SIGKILL
    (tmp_path / ".ck.abc123.tmp" / "half").write_text("half")
    (tmp_path / ".ck.def456.tmp").write_text("half")  # a file write killed
    (tmp_path / ".other.xyz.tmp").write_text("not ours")
    with atomic_directory(tmp_path / "ck") as tmp:
        (tmp / "w").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.xyz.tmp", "ck"]
    (tmp_path / ".notes.txt.q1.tmp").write_text("half")
    atomic_write_text(tmp_path / "notes.txt", "done")
    assert not list(tmp_path.glob(".notes.txt.*.tmp"))
