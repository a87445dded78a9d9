"""The About sheet: what the workbook shows, how to use the knobs, and a link to every sheet."""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from ..data import Dataset
from ..models import MODELS
from ..template import Template
from .data_sheet import SHEET_NAME as DATA_SHEET

SHEET_NAME = "About"

INTRODUCTION = (
    "Each training sheet fits a small model to the data by stochastic gradient descent (SGD), "
    "one step per row: the row takes the weights of the row above, predicts y for one data "
    "point, measures the squared error err², computes how err² changes with each weight (de/dw, "
    "by the chain rule) and moves every weight a little against it. An epoch is one pass over "
    "all points; the next epoch continues from the last row of the one before.",
    "Every cell is a live formula. The yellow cells at the top of a sheet are its knobs: the "
    "learning rate lr, the optimizer's settings and the starting weights. Type a new value and "
    "the whole run, its epoch summary and its charts recompute. Each knob is a named cell "
    "(lr, h, init_a, ...) and the formulas use the names, so a new weight reads like "
    "=E18-K18*lr: the weight of this row, minus its derivative times the learning rate.",
    "The 'est de/dw' columns estimate each derivative the way the lesson does, "
    "(err² with w + h − err²)/h, as a check on the analytic de/dw beside them. "
    "#NUM! in a cell means the value overflowed: the weights have blown up, usually because "
    "the learning rate is too large for the model. #DIV/0! means a division by zero, which "
    "eps = 0 allows when v is 0.",
    "The charts sit at the top right of each training sheet and stay in view while you scroll "
    "through the steps; the epoch summary is right of the step table. Squares are computed as "
    "products (err*err) rather than with ^2, whose pow() can differ in the last bit from one "
    "program to another. Regenerate the workbook with the sheetgen command line to change the "
    "model, the optimizer, the number of epochs or the data.",
)


def write_about_sheet(
    workbook: Workbook, formats: dict[str, Format], template: Template, data: Dataset
) -> None:
    """Add the About sheet, first in the workbook."""
    sheet = workbook.add_worksheet(SHEET_NAME)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 100)
    sheet.write_string(0, 0, template.title, formats["title"])
    sheet.write(1, 0, f"Written by sheetgen from the template {template.path.name}.",
                formats["note"])

    row = 3
    for paragraph in INTRODUCTION:
        sheet.merge_range(row, 0, row, 1, paragraph, formats["text"])
        sheet.set_row(row, 15 * (1 + len(paragraph) // 110))
        row += 1

    row += 1
    sheet.write(row, 0, "Sheets", formats["caption"])
    row += 1
    sheet.write_url(row, 0, f"internal:{DATA_SHEET}!A1", formats["link"], string=DATA_SHEET)
    sheet.write_string(row, 1, f"The training data: {data.description}.")
    for spec in template.sheets:
        row += 1
        model = MODELS[spec.model]
        sheet.write_url(row, 0, f"internal:'{spec.name}'!A1", formats["link"], string=spec.name)
        sheet.write(
            row, 1, f"{model.name} model {model.equation}, optimizer {spec.optimizer} "
            f"({spec.flavor} flavor), lr = {spec.knobs['lr']:g}, {spec.epochs} epochs."
        )
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.activate()
