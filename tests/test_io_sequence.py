"""Frame patterns, folders, --frames and gaps, on real files."""

from __future__ import annotations

import os

import pytest
from plate_factory import write_plate

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.io.sequence import find_sequence, parse_frame_range, scan_frames


@pytest.fixture
def plate_folder(tmp_path):
    write_plate(tmp_path, count=5, first=1001, size=(16, 12))
    return tmp_path


@pytest.mark.parametrize(
    "pattern",
    ["plate.%04d.exr", "plate.####.exr", "plate.@@@@.exr", "plate.#.exr", "plate.%d.exr", "plate.@.exr"],
)
def test_every_padding_style_finds_the_1001_based_frames(plate_folder, pattern):
    seq = find_sequence(str(plate_folder / pattern))
    assert seq.frame_numbers == (1001, 1002, 1003, 1004, 1005)
    assert [os.path.basename(p) for p in seq.paths] == [f"plate.{f}.exr" for f in range(1001, 1006)]


def test_range_in_the_pattern_selects_those_frames(plate_folder):
    seq = find_sequence(str(plate_folder / "plate.1002-1004#.exr"))
    assert seq.frame_numbers == (1002, 1003, 1004)


def test_frames_option_wins_over_everything_on_disk(plate_folder):
    seq = find_sequence(str(plate_folder / "plate.####.exr"), "1002-1003")
    assert seq.frame_numbers == (1002, 1003)
    assert seq.paths[0].endswith("plate.1002.exr")


def test_a_folder_of_frames_is_its_one_sequence(plate_folder):
    seq = find_sequence(str(plate_folder))
    assert seq.frame_numbers == tuple(range(1001, 1006))
    assert seq.name == "plate"


def test_padding_is_exact_for_zero_padded_files(tmp_path):
    write_plate(tmp_path, count=3, first=7, size=(16, 12))  # plate.0007.exr ...
    assert find_sequence(str(tmp_path / "plate.####.exr")).frame_numbers == (7, 8, 9)
    with pytest.raises(InputError, match=r"files there have 4-digit frame numbers, e\.g\. plate\.####\.exr"):
        find_sequence(str(tmp_path / "plate.@.exr"))  # unpadded 7 would be plate.7.exr


def test_a_gap_lists_the_missing_frames_and_suggests_a_range(plate_folder):
    os.remove(plate_folder / "plate.1003.exr")
    with pytest.raises(InputError, match=r"missing frames 1003;.*--frames 1001-1002"):
        find_sequence(str(plate_folder / "plate.%04d.exr"))
    scan = scan_frames(str(plate_folder / "plate.%04d.exr"))
    assert scan.missing == [1003] and sorted(scan.present) == [1001, 1002, 1004, 1005]
    assert find_sequence(str(plate_folder / "plate.%04d.exr"), "1004-1005").frame_numbers == (1004, 1005)


def test_frames_beyond_the_plate_are_reported_as_missing(plate_folder):
    with pytest.raises(InputError, match=r"missing frames 1006-1008"):
        find_sequence(str(plate_folder / "plate.%04d.exr"), "1004-1008")


@pytest.mark.parametrize("text", ["abc", "1001-", "", "10-20-30x"])
def test_bad_frame_range_syntax_is_an_input_error(text):
    with pytest.raises(InputError, match="is not a frame range"):
        parse_frame_range(text)


def test_frame_range_syntax_of_fileseq():
    assert parse_frame_range("1001-1009x4") == [1001, 1005, 1009]
    assert parse_frame_range("3,1,5-6") == [1, 3, 5, 6]


def test_nothing_matching_names_the_pattern(tmp_path):
    with pytest.raises(InputError, match=r"no files match .*nope\.%04d\.exr"):
        find_sequence(str(tmp_path / "nope.%04d.exr"))
    with pytest.raises(InputError, match="does not exist"):
        find_sequence(str(tmp_path / "missing_dir" / "plate.%04d.exr"))
