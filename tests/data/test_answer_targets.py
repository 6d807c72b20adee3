"""Stored structured targets: scale mapping, validation, atomic round trip."""

import math

from langir.data.answer_targets import (
    check_targets,
    from_scale,
    read_targets,
    remove_targets,
    targets_path,
    write_targets,
)


def test_from_scale_maps_0_1000_to_pixels_of_the_image():
    got = from_scale([{"point": [500, 250], "box": [0, 0, 1000, 1000]}], width=320, height=200)
    assert got == [{"point": [160.0, 50.0], "box": [0.0, 0.0, 320.0, 200.0]}]


def test_check_targets_names_what_is_wrong():
    assert check_targets([{"point": [1, 2]}], 10, 10) is None
    assert "outside" in check_targets([{"point": [11, 2]}], 10, 10)
    assert "finite" in check_targets([{"point": [math.nan, 2]}], 10, 10)
    assert "box" in check_targets([{"point": [1, 2], "box": [5, 5, 1, 1]}], 10, 10)
    assert "more than" in check_targets([{"point": [1, 1]}] * 100_000, 10, 10)
    assert check_targets({"point": [1, 1]}, 10, 10) == "targets is not a list"


def test_round_trip_and_removal(tmp_path):
    write_targets(tmp_path, "a", [{"point": [3.5, 4.0]}], (10, 8), request="k")
    assert read_targets(tmp_path, "a") == [{"point": [3.5, 4.0]}]
    targets_path(tmp_path, "b").write_text("{not json")
    assert read_targets(tmp_path, "b") is None
    remove_targets(tmp_path, "a")
    assert read_targets(tmp_path, "a") is None
