"""A training sheet: knobs on top, one row per step below, the epoch summary and charts beside.

The rows are written by the same training code as the simulator (training.py): each cell gets
its formula and, as cached result, the simulator's value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ..expr import Term, error_name, reference, stored_number
from ..models import MODELS
from ..optimizers import OPTIMIZERS
from ..simulator import Run
from ..template import SheetSpec
from ..training import EPOCHS, FIT, STEPS, run_training
from . import charts
from .data_sheet import point_cell, point_range
from .styles import COLUMN_WIDTH

# The band above the tables stays in view (frozen): knobs on the left, the maths of a row
# beside them, the charts on the right.
HYPERPARAMETER_ROW = 3  # names; values on the next row, meanings on the one after
START_ROW = 7  # weight names; on the rows below, the starting weights and optimizer state
MATHS_COLUMN = 6
CHART_COLUMN = 16
CHART_STRIDE = 7  # columns from one chart to the next
HEADER_ROW = 16  # column headers of the tables; data from the next row on
FIRST_COLUMN_WIDTH = 17

KNOB_MEANINGS = {
    "lr": "learning rate",
    "h": "est de/dw step",
    "beta": "average decay",
    "beta1": "decay of m",
    "beta2": "decay of v",
    "eps": "added to √v",
}
# Headers that differ from their key; the other keys (x, z, err, lr, ...) are their own header.
HEADERS = {
    "sq_err": "err²",
    "sqrt_sse": "√SSE (lesson's rmse)",
    "rmse": "RMSE",
    "sum_sqrt_v": "Σ√v",
}
# Headers of the per-weight columns; the group is the weight's name.
WEIGHT_HEADERS = (
    (re.compile(r"grad_(\w+)"), "de/d{}"),
    (re.compile(r"sq_err_(\w+)_h"), "err² ({}+h)"),
    (re.compile(r"fd_grad_(\w+)"), "est de/d{}"),
    (re.compile(r"m_(\w+)"), "m ({})"),
    (re.compile(r"v_(\w+)"), "v ({})"),
    (re.compile(r"new_(\w+)"), "new {}"),
    (re.compile(r"end_(\w+)"), "{} (end)"),
)


def header(table: str, key: str) -> str:
    """Return the column header of `key`: the maths' name, such as de/da or est de/da."""
    if table == FIT:
        return "x" if key == "x" else "pred after last epoch"
    if key in HEADERS:
        return HEADERS[key]
    for pattern, text in WEIGHT_HEADERS:
        match = pattern.fullmatch(key)
        if match:
            return text.format(match.group(1))
    return key


@dataclass(frozen=True)
class Layout:
    """The column of every table cell of a training sheet, by table and key."""

    columns: dict[str, dict[str, int]]

    @classmethod
    def of(cls, run: Run) -> Layout:
        """Place the tables side by side, one empty column apart, in the run's column order."""
        columns: dict[str, dict[str, int]] = {}
        first = 0
        for table in (STEPS, EPOCHS, FIT):
            keys = run.tables[table]
            columns[table] = {key: first + offset for offset, key in enumerate(keys)}
            first += len(keys) + 1
        return cls(columns)

    def cell(self, table: str, row: int, key: str) -> tuple[int, int]:
        """Return the 0-based (row, column) of row `row` (1-based) of `table`'s column `key`."""
        return HEADER_ROW + row, self.columns[table][key]

    def first_free_column(self) -> int:
        """Return the first column right of the last table, leaving one empty column."""
        return max(self.columns[FIT].values()) + 2


def cell_values(run: Run) -> dict[str, float]:
    """Return the simulator's value of every table cell of the run's sheet, by A1 reference."""
    layout = Layout.of(run)
    values = {}
    for table, columns in layout.columns.items():
        for key, column in columns.items():
            for row, value in enumerate(run.column(table, key)[:, 0], start=1):
                values[xl_rowcol_to_cell(HEADER_ROW + row, column)] = float(value)
    return values


def write_training_sheet(workbook: Workbook, formats: dict[str, Format], run: Run) -> None:
    """Add the training sheet of `run`: knobs, explanations, steps, epoch summary and charts."""
    spec = run.sheet
    sheet = workbook.add_worksheet(spec.name)
    layout = Layout.of(run)
    model, optimizer = MODELS[spec.model], OPTIMIZERS[spec.optimizer]

    sheet.write_string(
        0, 0, f"{spec.name}: {model.name} model {model.equation}, "
        f"optimizer {optimizer.name} ({spec.flavor} flavor)", formats["title"]
    )
    sheet.write(
        1, 0, f"One row per step on one data point; {spec.epochs} epochs of {len(run.data)} "
        "points. Edit a yellow knob and the whole run and its charts recompute.", formats["note"]
    )
    summary_column = min(layout.columns[EPOCHS].values())
    sheet.write_url(
        HEADER_ROW - 1, 0, f"internal:{_quote(spec.name)}!"
        f"{xl_rowcol_to_cell(HEADER_ROW, summary_column)}", formats["link"],
        string="→ epoch summary",
    )

    _write_knobs(workbook, sheet, formats, spec)
    _write_maths(sheet, formats, spec)
    _write_headers(sheet, formats, layout)
    run_training(spec, run.data, _SheetGrid(sheet, formats, layout, run))
    _insert_charts(workbook, sheet, layout, run)

    sheet.set_column(1, max(layout.first_free_column(), CHART_COLUMN + 3 * CHART_STRIDE),
                     COLUMN_WIDTH)
    sheet.set_column(0, 0, FIRST_COLUMN_WIDTH)
    sheet.set_row(HEADER_ROW, 45)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.set_landscape()
    sheet.repeat_rows(HEADER_ROW)


def _write_knobs(
    workbook: Workbook, sheet: Worksheet, formats: dict[str, Format], spec: SheetSpec
) -> None:
    model, optimizer = MODELS[spec.model], OPTIMIZERS[spec.optimizer]
    hyperparameters = [name for name in spec.knobs if not name.startswith("init_")]
    sheet.write(HYPERPARAMETER_ROW + 1, 0, "knobs", formats["caption"])
    for offset, name in enumerate(hyperparameters):
        column = 1 + offset
        sheet.write(HYPERPARAMETER_ROW, column, name, formats["knob_name"])
        _write_knob(workbook, sheet, formats, spec, name, HYPERPARAMETER_ROW + 1, column)
        sheet.write(HYPERPARAMETER_ROW + 2, column, KNOB_MEANINGS[name], formats["knob_note"])

    # A grid: one column per weight, one row per starting value; the cell of weight a on
    # row init_m_ is the knob init_m_a.
    sheet.write(START_ROW, 0, "start from", formats["caption"])
    for offset, weight in enumerate(model.weights):
        sheet.write(START_ROW, 1 + offset, weight, formats["knob_name"])
    prefixes = ["init_", *(f"init_{variable}_" for variable in optimizer.state_variables)]
    for row, prefix in enumerate(prefixes, start=START_ROW + 1):
        sheet.write(row, 0, f"{prefix}w", formats["knob_name"])
        for offset, weight in enumerate(model.weights):
            _write_knob(workbook, sheet, formats, spec, prefix + weight, row, 1 + offset)


def _write_knob(
    workbook: Workbook,
    sheet: Worksheet,
    formats: dict[str, Format],
    spec: SheetSpec,
    name: str,
    row: int,
    column: int,
) -> None:
    sheet.write_number(row, column, spec.knobs[name], formats["input"])
    cell = xl_rowcol_to_cell(row, column, row_abs=True, col_abs=True)
    workbook.define_name(f"{_quote(spec.name)}!{name}", f"={_quote(spec.name)}!{cell}")


def _write_maths(sheet: Worksheet, formats: dict[str, Format], spec: SheetSpec) -> None:
    model, optimizer = MODELS[spec.model], OPTIMIZERS[spec.optimizer]
    lines = [
        (f"Each row: model {model.equation}", formats["caption"]),
        *((line, None) for line in model.derivation),
        (f"Optimizer {optimizer.name} ({spec.flavor} flavor), for each weight w",
         formats["caption"]),
        *((line, None) for line in optimizer.rules(spec.flavor)),
        ("est de/dw = (err² with w + h − err²) / h, to check de/dw", None),
    ]
    for row, (line, cell_format) in enumerate(lines, start=HYPERPARAMETER_ROW):
        sheet.write(row, MATHS_COLUMN, line, cell_format)


def _write_headers(sheet: Worksheet, formats: dict[str, Format], layout: Layout) -> None:
    for table, columns in layout.columns.items():
        for key, column in columns.items():
            sheet.write(HEADER_ROW, column, header(table, key), formats["header"])
    first_summary = min(layout.columns[EPOCHS].values())
    first_fit = min(layout.columns[FIT].values())
    sheet.write(HEADER_ROW - 1, first_summary, "Epoch summary", formats["caption"])
    sheet.write(HEADER_ROW - 1, first_fit, "Model after training", formats["caption"])


def _insert_charts(workbook: Workbook, sheet: Worksheet, layout: Layout, run: Run) -> None:
    name = run.sheet.name
    epochs, steps = run.sheet.epochs, run.sheet.epochs * len(run.data)

    def span(table: str, key: str, rows: int) -> list:
        first_row, col = layout.cell(table, 1, key)
        return [name, first_row, col, first_row + rows - 1, col]

    error_chart = charts.scatter(workbook, "Error by epoch", "epoch", "√SSE (log scale)")
    charts.add_line(
        error_chart, "√SSE", span(EPOCHS, "epoch", epochs), span(EPOCHS, "sqrt_sse", epochs),
        markers=True,
    )
    error_chart.set_y_axis({"name": "√SSE (log scale)", "log_base": 10})
    error_chart.set_x_axis(
        {"name": "epoch", "min": 1, "max": max(epochs, 2), "major_unit": max(1, epochs // 10),
         "major_gridlines": {"visible": False}}
    )
    error_chart.set_legend({"none": True})
    sheet.insert_chart(0, CHART_COLUMN, error_chart, charts.CHART_SIZE)

    weight_chart = charts.scatter(workbook, "Weights by step", "step", "weight")
    for weight in run.weights:
        charts.add_line(
            weight_chart, weight, span(STEPS, "step", steps), span(STEPS, weight, steps)
        )
    sheet.insert_chart(0, CHART_COLUMN + CHART_STRIDE, weight_chart, charts.CHART_SIZE)

    fit_chart = charts.scatter(workbook, "Data and the model after the last epoch", "x", "y")
    points = len(run.data)
    charts.add_points(fit_chart, "data", point_range(points, "x"), point_range(points, "y"))
    fit_rows = len(run.tables[FIT]["x"])
    charts.add_line(fit_chart, "prediction", span(FIT, "x", fit_rows), span(FIT, "pred", fit_rows))
    sheet.insert_chart(0, CHART_COLUMN + 2 * CHART_STRIDE, fit_chart, charts.CHART_SIZE)


class _SheetGrid:
    """A grid that writes each cell as a formula cached with the simulator's value."""

    def __init__(self, sheet: Worksheet, formats: dict[str, Format], layout: Layout, run: Run):
        self.sheet = sheet
        self.formats = formats
        self.layout = layout
        self.run = run

    def knob(self, name: str) -> Term:
        return reference(name, [stored_number(self.run.sheet.knobs[name])])

    def point(self, index: int) -> tuple[Term, Term]:
        x, y = float(self.run.data.x[index]), float(self.run.data.y[index])
        return reference(point_cell(index, "x"), [x]), reference(point_cell(index, "y"), [y])

    def cell(self, table: str, row: int, key: str, term: Term) -> Term:
        sheet_row, column = self.layout.cell(table, row, key)
        value = float(self.run.column(table, key)[row - 1, 0])
        if term.constant:
            self.sheet.write_number(sheet_row, column, value, self.formats["number"])
        else:
            cached = value if math.isfinite(value) else error_name(value)
            self.sheet.write_formula(
                sheet_row, column, f"={term.text}", self.formats["number"], cached
            )
        return reference(xl_rowcol_to_cell(sheet_row, column), [value])

    def points_span(self, column: str) -> str:
        first, last = point_cell(0, column), point_cell(len(self.run.data) - 1, column)
        return f"{first}:{last.split('!')[1]}"

    def span(self, table: str, key: str, first: int, last: int) -> str:
        first_row, column = self.layout.cell(table, first, key)
        last_row = first_row + last - first
        letter = xl_col_to_name(column)
        return f"{letter}{first_row + 1}:{letter}{last_row + 1}"


def _quote(sheet_name: str) -> str:
    return f"'{sheet_name}'"
