"""Shared helpers: the repository's folders, and building and checking a workbook."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from sheetgen.data import Dataset, load_dataset
from sheetgen.engines.libreoffice import read_formulas, read_values, recalculate
from sheetgen.expr import error_name
from sheetgen.sheets.training_sheet import cell_values
from sheetgen.simulator import Run, simulate
from sheetgen.template import DataSpec, Template
from sheetgen.workbook import write_workbook

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").glob("*.toml"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELATIVE_TOLERANCE = 1e-9


@dataclass
class Recalculated:
    """A workbook as written, and the values LibreOffice computed for it."""

    template: Template
    runs: list[Run]
    path: Path
    formulas: dict[str, dict[str, str]]
    values: dict[str, dict[str, object]]


def build(template: Template, folder: Path, runs: list[Run] | None = None) -> Path:
    """Write the workbook of `template` into `folder`; simulate it unless `runs` are given."""
    data = load_dataset(template.data)
    runs = runs if runs is not None else [simulate(sheet, data) for sheet in template.sheets]
    path = folder / f"{template.name}.xlsx"
    write_workbook(template, data, runs, path)
    return path


def build_and_recalculate(template: Template, folder: Path, runs: list[Run] | None = None):
    """Write the workbook, recalculate it in LibreOffice and read both back."""
    data = load_dataset(template.data)
    runs = runs if runs is not None else [simulate(sheet, data) for sheet in template.sheets]
    path = build(template, folder, runs)
    recalculated = recalculate(path, folder / "recalculated")
    return Recalculated(template, runs, path, read_formulas(path), read_values(recalculated))


def mismatches(
    runs: list[Run], formulas: dict[str, dict[str, str]], values: dict[str, dict[str, object]]
) -> list[str]:
    """List every formula cell whose recalculated value differs from the simulator's.

    A finite simulator value must come back as a number equal to it within a relative
    1e-9; a non-finite one must come back as the same error value, such as #NUM!.
    """
    found = []
    for run in runs:
        expected = cell_values(run)
        sheet_values = values[run.sheet.name]
        for ref, formula in formulas[run.sheet.name].items():
            want, got = expected.get(ref), sheet_values.get(ref)
            if want is None:
                found.append(f"{run.sheet.name}!{ref} {formula}: no simulator value")
            elif math.isnan(want):
                if got != error_name(want):
                    found.append(
                        f"{run.sheet.name}!{ref} {formula}: want {error_name(want)}, got {got!r}"
                    )
            elif not (
                isinstance(got, (int, float))
                and not isinstance(got, bool)
                and math.isclose(got, want, rel_tol=RELATIVE_TOLERANCE)
            ):
                found.append(f"{run.sheet.name}!{ref} {formula}: want {want!r}, got {got!r}")
    return found


@pytest.fixture(scope="session")
def lesson() -> Dataset:
    """The lesson's 29 points."""
    return load_dataset(DataSpec("lesson", {}))


def write_template(folder: Path, text: str, name: str = "t.toml") -> Path:
    """Write a template file and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
