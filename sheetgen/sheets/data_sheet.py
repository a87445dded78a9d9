"""The data sheet: the (x, y) points every training sheet reads, and a scatter chart of them."""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from ..data import Dataset
from . import charts

SHEET_NAME = "data"
HEADER_ROW = 3  # 0-based; the points start on the row below
COLUMNS = {"x": 0, "y": 1}


def point_cell(index: int, column: str) -> str:
    """Return the absolute reference of x (column "x") or y of point `index` (0-based)."""
    letter = "AB"[COLUMNS[column]]
    return f"{SHEET_NAME}!${letter}${HEADER_ROW + 2 + index}"


def point_range(count: int, column: str) -> list:
    """Return column "x" or "y" of the first `count` points as a chart range."""
    first = HEADER_ROW + 1
    return [SHEET_NAME, first, COLUMNS[column], first + count - 1, COLUMNS[column]]


def write_data_sheet(workbook: Workbook, formats: dict[str, Format], data: Dataset) -> None:
    """Add the data sheet: a title, the points in training order and their scatter chart."""
    sheet = workbook.add_worksheet(SHEET_NAME)
    sheet.write(0, 0, "Training data", formats["title"])
    sheet.write_string(1, 0, f"Source: {data.description}.", formats["note"])
    sheet.write(
        2, 0, "Each epoch visits the points in this order, top to bottom. Edit a point and "
        "every training sheet recomputes.", formats["note"]
    )
    sheet.write_row(HEADER_ROW, 0, ["x", "y"], formats["header"])
    sheet.set_column(0, 1, 11)
    for index, (x, y) in enumerate(zip(data.x, data.y, strict=True)):
        sheet.write_number(HEADER_ROW + 1 + index, 0, float(x))
        sheet.write_number(HEADER_ROW + 1 + index, 1, float(y))
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.fit_to_pages(1, 0)

    chart = charts.scatter(workbook, "The data", "x", "y")
    charts.add_points(
        chart, "data points", point_range(len(data), "x"), point_range(len(data), "y")
    )
    chart.set_legend({"none": True})
    sheet.insert_chart(HEADER_ROW, 3, chart, charts.CHART_SIZE)
