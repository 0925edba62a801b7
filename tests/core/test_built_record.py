from saerepro.core.built_record import RECORD_FILE, differences, read_record, write_record


def test_a_record_round_trips_and_names_every_difference(tmp_path):
    record = {"model": "m", "layer": 8, "corpus": {"sources": ("a", "b"), "seed": 0}}
    write_record(tmp_path, record)
    assert (tmp_path / RECORD_FILE).is_file()
    built = read_record(tmp_path)
    assert differences(built, record) == []  # tuples compare equal to the lists JSON gives back
    wanted = {"model": "m", "layer": 6, "corpus": {"sources": ("a",), "seed": 0}, "context": 64}
    assert differences(built, wanted) == [
        "context: built with None, asked for 64",
        "corpus.sources: built with ['a', 'b'], asked for ['a']",
        "layer: built with 8, asked for 6",
    ]


def test_a_folder_without_a_record_differs(tmp_path):
    assert read_record(tmp_path) is None
    assert differences(None, {"layer": 8}) == [
        f"no {RECORD_FILE} (built by older code, or interrupted)"
    ]
