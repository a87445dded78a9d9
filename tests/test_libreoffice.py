"""Tests of the LibreOffice engine, each running a real headless LibreOffice.

These tests fail, rather than skip, when LibreOffice is not installed, because a test
run without a recalculation would prove nothing about the formulas.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import xlsxwriter

from sheetgen.engines.libreoffice import (
    LibreOfficeError,
    read_formulas,
    read_values,
    recalculate,
)


def write_workbook(path: Path, formulas: dict[str, str]) -> Path:
    """Write one sheet "basic" with each formula cached as the wrong value 999."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("basic")
    for cell, formula in formulas.items():
        sheet.write_formula(cell, formula, None, 999)
    workbook.close()
    return path


def test_recalculate_replaces_wrong_cached_value(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "cached.xlsx", {"A1": "=2+3"})
    assert read_values(source)["basic"]["A1"] == 999

    recalculated = recalculate(source, tmp_path / "out")

    assert recalculated == tmp_path / "out" / "cached.xlsx"
    assert read_values(recalculated)["basic"]["A1"] == 5


def test_sheet_scoped_names_resolve_per_sheet(tmp_path: Path) -> None:
    source = tmp_path / "names.xlsx"
    workbook = xlsxwriter.Workbook(source)
    for sheet_name, lr in (("basic", 0.1), ("momentum", 7)):
        sheet = workbook.add_worksheet(sheet_name)
        sheet.write("B3", lr)
        workbook.define_name(f"{sheet_name}!lr", f"={sheet_name}!$B$3")
        sheet.write_formula("A1", "=lr*2", None, 999)
    workbook.get_worksheet_by_name("basic").write_formula(
        "A2", "=momentum!lr", None, 999
    )
    workbook.close()

    values = read_values(recalculate(source, tmp_path / "out"))

    assert values["basic"]["A1"] == pytest.approx(0.2)
    assert values["momentum"]["A1"] == 14
    assert values["basic"]["A2"] == 7


def test_overflow_reads_as_num_error(tmp_path: Path) -> None:
    source = write_workbook(
        tmp_path / "overflow.xlsx",
        {"A1": "=1E200*1E200", "A2": "=EXP(1000)", "A3": "=-1E200*1E200"},
    )

    values = read_values(recalculate(source, tmp_path / "out"))["basic"]

    assert values["A1"] == "#NUM!"
    assert values["A2"] == "#NUM!"
    assert values["A3"] == "#NUM!"


def test_division_by_zero_reads_as_div0_error(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "div0.xlsx", {"A1": "=1/0", "A2": "=0/0"})

    values = read_values(recalculate(source, tmp_path / "out"))["basic"]

    assert values["A1"] == "#DIV/0!"
    assert values["A2"] == "#DIV/0!"


def test_read_formulas_returns_only_formulas(tmp_path: Path) -> None:
    source = tmp_path / "formulas.xlsx"
    workbook = xlsxwriter.Workbook(source)
    sheet = workbook.add_worksheet("basic")
    sheet.write("A1", 2.5)
    sheet.write_string("A2", "=text, not a formula")
    sheet.write_formula("A3", "=A1*2", None, 5)
    sheet.write_array_formula("A4:A4", "{=SUM(A1:A3)}", None, 7.5)
    workbook.add_worksheet("empty")
    workbook.close()

    assert read_formulas(source) == {
        "basic": {"A3": "=A1*2", "A4": "=SUM(A1:A3)"},
        "empty": {},
    }
    assert read_values(source) == {
        "basic": {"A1": 2.5, "A2": "=text, not a formula", "A3": 5, "A4": 7.5},
        "empty": {},
    }


def test_concurrent_calls_keep_own_results(tmp_path: Path) -> None:
    sources = [
        write_workbook(tmp_path / f"book{index}.xlsx", {"A1": f"={index}+100"})
        for index in range(2)
    ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        copies = list(
            pool.map(lambda source: recalculate(source, tmp_path / "out"), sources)
        )

    assert read_values(copies[0])["basic"]["A1"] == 100
    assert read_values(copies[1])["basic"]["A1"] == 101


def test_missing_workbook_raises_with_name(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_workbook.xlsx"

    with pytest.raises(LibreOfficeError, match="no_such_workbook.xlsx"):
        recalculate(missing, tmp_path / "out")


def test_invalid_workbook_raises_with_name(tmp_path: Path) -> None:
    invalid = tmp_path / "not_a_workbook.xlsx"
    invalid.write_text("plain text, not a zip archive", encoding="utf-8")

    with pytest.raises(LibreOfficeError, match="not_a_workbook.xlsx"):
        recalculate(invalid, tmp_path / "out")
    assert not (tmp_path / "out" / "not_a_workbook.xlsx").exists()


def test_timeout_raises_with_name(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "slow.xlsx", {"A1": "=2+3"})

    # Starting LibreOffice takes far longer than 0.05 s, so the call must time out.
    with pytest.raises(LibreOfficeError, match="timed out.*slow.xlsx"):
        recalculate(source, tmp_path / "out", timeout=0.05)


def test_copy_over_workbook_raises(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "same.xlsx", {"A1": "=2+3"})

    with pytest.raises(LibreOfficeError, match="would replace the workbook"):
        recalculate(source, tmp_path)
    assert read_values(source)["basic"]["A1"] == 999
