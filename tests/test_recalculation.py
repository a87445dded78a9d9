"""Every formula of every shipped template, recalculated by LibreOffice, equals the simulator."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from xlsxwriter.utility import xl_rowcol_to_cell

from conftest import TEMPLATES, build, build_and_recalculate, mismatches, write_template
from sheetgen.data import load_dataset
from sheetgen.engines.libreoffice import read_values, recalculate
from sheetgen.sheets.training_sheet import Layout
from sheetgen.simulator import simulate
from sheetgen.template import load_template
from sheetgen.training import STEPS


@pytest.fixture(scope="module", params=TEMPLATES, ids=lambda path: path.stem)
def shipped(request, tmp_path_factory):
    template = load_template(request.param)
    return build_and_recalculate(template, tmp_path_factory.mktemp(template.name))


def test_shipped_formulas_match_simulator(shipped) -> None:
    assert mismatches(shipped.runs, shipped.formulas, shipped.values) == []


def test_shipped_formulas_are_all_on_training_sheets(shipped) -> None:
    training = {run.sheet.name for run in shipped.runs}
    for sheet, formulas in shipped.formulas.items():
        if sheet not in training:
            assert formulas == {}, f"sheet {sheet} has formulas that no test checks"
    for run in shipped.runs:
        assert len(shipped.formulas[run.sheet.name]) > 0


def test_shipped_workbook_has_no_unexpected_errors(shipped) -> None:
    # Error cells are expected only where the simulator overflowed; #NAME? never.
    for sheet, cells in shipped.values.items():
        for ref, value in cells.items():
            assert value not in ("#NAME?", "#REF!", "#VALUE!"), f"{sheet}!{ref} is {value}"


def test_division_by_zero_caches_div0(tmp_path: Path) -> None:
    # With eps = 0 and v starting at 0, the lesson's RMSProp divides by √0 at step 1.
    template = load_template(
        write_template(tmp_path, RMSPROP_TEMPLATE), ["eps=0", "state.v.a=0", "state.v.b=0"]
    )

    result = build_and_recalculate(template, tmp_path)

    assert result.values["rmsprop"][_last_cell(result.path, "new a", "rmsprop")] == "#DIV/0!"
    assert mismatches(result.runs, result.formulas, result.values) == []


def test_odd_names_stay_text_and_names_resolve(tmp_path: Path) -> None:
    text = 'title = "=1+1"\n[[sheet]]\nname = "=odd name"\nepochs = 1\n'
    template = load_template(write_template(tmp_path, text))

    result = build_and_recalculate(template, tmp_path)

    assert result.values["About"]["A1"] == "=1+1"
    assert result.values["=odd name"]["A1"].startswith("=odd name: linear model")
    assert mismatches(result.runs, result.formulas, result.values) == []


# Overflow (#NUM!) and division by zero (#DIV/0!) meet in operators, in SUM and in the fit.
MIXED_ERRORS = """
[[sheet]]
name = "operators"
model = "two_neuron_relu"
optimizer = "adam"
epochs = 1
init = { a = -1.0, b = -1.0, c = 1.0, d = 1e308 }
eps = 0
[[sheet]]
name = "sums"
model = "two_neuron_relu"
optimizer = "rmsprop"
epochs = 1
lr = 1e306
eps = 0
init = { a = -1.0, b = -1.0, c = 1.0, d = -1e306 }
state = { v = { a = 0.0, b = 0.0, c = 0.0, d = 0.0 } }
"""


def test_mixed_errors_match(tmp_path: Path) -> None:
    template = load_template(write_template(tmp_path, MIXED_ERRORS))

    result = build_and_recalculate(template, tmp_path)
    errors = {
        value for sheet in result.values.values() for value in sheet.values()
        if isinstance(value, str) and value.startswith("#")
    }

    assert errors == {"#NUM!", "#DIV/0!"}
    assert mismatches(result.runs, result.formulas, result.values) == []


def test_wrong_cached_value_is_caught(tmp_path: Path) -> None:
    template = load_template(TEMPLATES[0])
    data = load_dataset(template.data)
    runs = [simulate(sheet, data) for sheet in template.sheets]
    runs[0].tables[STEPS]["new_a"][3, 0] += 1.0  # row 4 caches a wrong new a

    result = build_and_recalculate(template, tmp_path, runs)
    found = mismatches(result.runs, result.formulas, result.values)

    row, column = Layout.of(runs[0]).cell(STEPS, 4, "new_a")
    assert len(found) == 1
    assert found[0].startswith(f"basic!{xl_rowcol_to_cell(row, column)} ")


def test_knob_edit_recomputes_run(tmp_path: Path) -> None:
    template = load_template(write_template(tmp_path, LINEAR_TEMPLATE))
    path = build(template, tmp_path)
    edited = tmp_path / "edited" / path.name
    edited.parent.mkdir()
    _set_cell_value(path, edited, sheet_index=3, ref="B5", old="0.0001", new="0.0003")

    values = read_values(recalculate(edited, tmp_path / "recalculated"))["basic"]
    data = load_dataset(template.data)
    faster = simulate(template.sheets[0], data, {"lr": np.array([3e-4])})
    last_a = faster.column(STEPS, "new_a")[-1, 0]

    assert values["B5"] == pytest.approx(3e-4)
    assert np.isclose(values[_last_cell(path, "new a")], last_a, rtol=1e-9)


def test_charts_are_scatter_charts(tmp_path: Path) -> None:
    path = build(load_template(TEMPLATES[0]), tmp_path)
    with zipfile.ZipFile(path) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        texts = [archive.read(name).decode() for name in charts]

    assert len(charts) >= 4  # the data sheet's chart and three per training sheet
    for text in texts:
        assert "<c:scatterChart>" in text
        assert "<c:catAx>" not in text


RMSPROP_TEMPLATE = """
[[sheet]]
name = "rmsprop"
optimizer = "rmsprop"
epochs = 1
"""

LINEAR_TEMPLATE = """
[data]
source = "lesson"
[[sheet]]
name = "basic"
model = "linear"
optimizer = "sgd"
lr = 0.0001
epochs = 2
"""


def _set_cell_value(source: Path, target: Path, sheet_index: int, ref: str, old: str, new: str):
    """Copy a workbook, changing the stored value of one number cell, as a user's edit would."""
    member = f"xl/worksheets/sheet{sheet_index}.xml"
    with zipfile.ZipFile(source) as archive_in, zipfile.ZipFile(target, "w") as archive_out:
        for item in archive_in.infolist():
            data = archive_in.read(item.filename)
            if item.filename == member:
                text = data.decode()
                pattern = rf'(<c r="{ref}"[^>]*><v>){re.escape(old)}(</v>)'
                text, count = re.subn(pattern, rf"\g<1>{new}\g<2>", text)
                assert count == 1, f"cell {ref} holding {old} not found in {member}"
                data = text.encode()
            archive_out.writestr(item, data)


def _last_cell(path: Path, header: str, sheet_name: str = "basic") -> str:
    """Return the reference of the last step row's cell in the column headed `header`."""
    sheet = load_workbook(path)[sheet_name]
    header_row = next(row for row in sheet.iter_rows() if row[0].value == "step")
    column = next(cell.column_letter for cell in header_row if cell.value == header)
    last = max(cell.row for cell in sheet[column] if isinstance(cell.value, str)
               and cell.value.startswith("="))
    return f"{column}{last}"
