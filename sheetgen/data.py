"""Datasets: the (x, y) points a template trains on, from the lesson, a generator or a CSV file."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .errors import InputError
from .template import MAX_STEP_ROWS, DataSpec


@dataclass(frozen=True)
class Dataset:
    """The points in training order, and one line saying where they come from."""

    x: np.ndarray
    y: np.ndarray
    description: str

    def __len__(self) -> int:
        return len(self.x)


def load_dataset(spec: DataSpec) -> Dataset:
    """Return the points that `spec` describes."""
    if spec.kind == "lesson":
        text = resources.files("sheetgen").joinpath("resources/lesson.csv").read_text()
        x, y = _parse_csv(text.splitlines(), "the lesson data")
        return Dataset(x, y, "the lesson's 29 points, y = 2x + 30 (graddesc.xlsm)")

    if spec.kind == "csv":
        assert spec.path is not None
        try:
            lines = spec.path.read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise InputError(f"{spec.path}: CSV file not found.") from None
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{spec.path}: cannot read the CSV file ({error}).") from None
        x, y = _parse_csv(lines, str(spec.path))
        return Dataset(x, y, f"{len(x)} points from {spec.path.name}")

    return synthetic(**spec.options)


def synthetic(
    n: int, slope: float, intercept: float, x_min: float, x_max: float, noise: float, seed: int
) -> Dataset:
    """Draw n points y = slope·x + intercept (+ Gaussian noise), x uniform in [x_min, x_max].

    The same arguments give the same points on every machine (NumPy's PCG64 generator).
    """
    generator = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        try:
            x = generator.uniform(x_min, x_max, n)
        except OverflowError:
            x = np.full(n, np.inf)
        y = slope * x + intercept
        if noise > 0:
            y = y + generator.normal(0.0, noise, n)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError(
            "[data]: the synthetic points overflow a float; use a smaller x range, slope, "
            "intercept or noise."
        )
    description = f"{n} points, y = {slope:g}x + {intercept:g}"
    description += f" + noise (sd {noise:g})" if noise > 0 else ""
    return Dataset(x, y, f"{description}, x from {x_min:g} to {x_max:g}, seed {seed}")


def _parse_csv(lines: list[str], source: str) -> tuple[np.ndarray, np.ndarray]:
    rows = csv.reader(lines)
    header = [cell.strip().lower() for cell in next(rows, [])]
    if header.count("x") != 1 or header.count("y") != 1:
        raise InputError(
            f"{source}: line 1 must name the comma-separated columns, with one 'x' and one "
            f"'y'; it reads {','.join(header)!r}."
        )
    x_column, y_column = header.index("x"), header.index("y")

    xs, ys = [], []
    for line_number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            x, y = float(row[x_column]), float(row[y_column])
        except (IndexError, ValueError):
            raise InputError(
                f"{source}, line {line_number}: expected numbers in columns x and y, got {row!r}."
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InputError(f"{source}, line {line_number}: x and y must be finite numbers.")
        xs.append(x)
        ys.append(y)

    if len(xs) < 2:
        raise InputError(f"{source}: needs at least 2 points, found {len(xs)}.")
    if len(xs) > MAX_STEP_ROWS:
        raise InputError(f"{source}: has {len(xs)} points; at most {MAX_STEP_ROWS} fit a sheet.")
    return np.array(xs), np.array(ys)
