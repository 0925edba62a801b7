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
