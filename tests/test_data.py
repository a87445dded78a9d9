"""Datasets: the lesson's points, synthetic points and CSV files."""

from __future__ import annotations

import numpy as np
import pytest

from sheetgen.data import load_dataset, synthetic
from sheetgen.errors import InputError
from sheetgen.template import DataSpec


def test_lesson_data_is_29_points_on_a_line(lesson) -> None:
    assert len(lesson) == 29
    np.testing.assert_array_equal(lesson.y, 2 * lesson.x + 30)
    assert (lesson.x[0], lesson.y[0]) == (14, 58)


def test_synthetic_is_reproducible() -> None:
    options = dict(n=10, slope=3.0, intercept=-1.0, x_min=0.0, x_max=5.0, noise=0.5, seed=7)

    first, second = synthetic(**options), synthetic(**options)

    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, second.y)
    assert np.all((first.x >= 0) & (first.x <= 5))
    assert not np.array_equal(first.y, 3 * first.x - 1)  # noise was added


def test_synthetic_without_noise_is_exact() -> None:
    points = synthetic(n=5, slope=2.0, intercept=30.0, x_min=1, x_max=100, noise=0.0, seed=1)

    np.testing.assert_array_equal(points.y, 2 * points.x + 30)


def test_csv_with_extra_columns(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,X,Y\n1,1.5,4\n2,2.5,6\n\n")

    points = load_dataset(DataSpec("csv", {}, path))

    np.testing.assert_array_equal(points.x, [1.5, 2.5])
    np.testing.assert_array_equal(points.y, [4, 6])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b\n1,2\n", "line 1 must name the comma-separated columns.+reads 'a,b'"),
        ("x;y\n1;2\n", "line 1 must name the comma-separated columns.+reads 'x;y'"),
        ("x,y,x\n1,2,3\n", "with one 'x' and one 'y'"),
        ("x,y\n1,2\n", "needs at least 2 points, found 1"),
        ("x,y\n1,2\n3\n", "line 3: expected numbers"),
        ("x,y\n1,2\n3,nan\n", "line 3: x and y must be finite"),
    ],
)
def test_invalid_csv_is_reported(tmp_path, text, expected) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text)

    with pytest.raises(InputError, match=expected):
        load_dataset(DataSpec("csv", {}, path))


def test_missing_csv_is_reported(tmp_path) -> None:
    with pytest.raises(InputError, match="CSV file not found"):
        load_dataset(DataSpec("csv", {}, tmp_path / "none.csv"))


def test_synthetic_overflow_is_reported() -> None:
    with pytest.raises(InputError, match="synthetic points overflow"):
        synthetic(n=3, slope=1e308, intercept=0, x_min=1, x_max=100, noise=0.0, seed=0)
