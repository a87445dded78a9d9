"""The reference simulator: every value of a training sheet, in NumPy float64, over a batch.

It runs the same training code as the workbook (see training.py) with knob values in place of
cells, so each value is computed in the formulas' order of operations. A batch runs many
configurations at once: give a knob an array of values (say 50 learning rates) and every
value of the run gets one entry per configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .data import Dataset
from .errors import InputError
from .expr import Term, literal, reference, stored_number
from .models import MODELS
from .optimizers import OPTIMIZERS
from .template import MAX_STEP_ROWS, SheetSpec
from .training import EPOCHS, FIT, STEPS, run_training


@dataclass
class Run:
    """The values of one sheet's training run.

    `tables[table][key]` is an array of shape (rows, batch) for each column `key` of `table`
    (STEPS, EPOCHS or FIT), with the columns in the order the sheet shows them. NaN marks a
    value that overflowed, which a spreadsheet shows as an error such as #NUM!.
    """

    sheet: SheetSpec
    data: Dataset
    batch_size: int
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def weights(self) -> tuple[str, ...]:
        """The model's weight names."""
        return MODELS[self.sheet.model].weights

    @property
    def state_variables(self) -> tuple[str, ...]:
        """The optimizer's state variable names (m, v)."""
        return OPTIMIZERS[self.sheet.optimizer].state_variables

    def column(self, table: str, key: str) -> np.ndarray:
        """Return the (rows, batch) values of column `key` of `table`."""
        return self.tables[table][key]


def simulate(
    sheet: SheetSpec, data: Dataset, batch: Mapping[str, ArrayLike] | None = None
) -> Run:
    """Compute every value of the training run of `sheet` on `data`.

    `batch` maps knob names (`lr`, `init_a`, ...) to 1-D arrays of equal length. Each entry
    is one configuration. The knobs that `batch` does not name keep the sheet's values.
    """
    check_size(sheet, data)
    knobs = _batch_knobs(sheet, batch or {})
    batch_size = len(next(iter(knobs.values())))
    grid = _RecordingGrid(knobs, data, batch_size)
    run_training(sheet, data, grid)

    tables = {
        table: {key: np.array(rows) for key, rows in columns.items()}
        for table, columns in grid.tables.items()
    }
    return Run(sheet=sheet, data=data, batch_size=batch_size, tables=tables)


def check_size(sheet: SheetSpec, data: Dataset, source: str = "") -> None:
    """Raise InputError when the sheet has more step rows than a sheet may have.

    `source`, the template's path, starts the message when given.
    """
    if sheet.epochs * len(data) > MAX_STEP_ROWS:
        where = f"{source}, sheet {sheet.name!r}" if source else f"sheet {sheet.name!r}"
        raise InputError(
            f"{where}: {sheet.epochs} epochs of {len(data)} points make "
            f"{sheet.epochs * len(data)} step rows; a sheet may have at most {MAX_STEP_ROWS}."
        )


def _batch_knobs(sheet: SheetSpec, batch: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    sizes = set()
    for name, values in batch.items():
        if name not in sheet.knobs:
            raise InputError(f"batch knob {name!r} is not a knob of sheet {sheet.name!r}.")
        sizes.add(np.asarray(values).shape)
    if len(sizes) > 1 or any(len(size) != 1 for size in sizes):
        raise InputError("batch knobs must be 1-D arrays of one common length.")
    size = sizes.pop()[0] if sizes else 1

    knobs = {}
    for name, value in sheet.knobs.items():
        values = np.vectorize(stored_number, otypes=[float])(batch.get(name, value))
        knobs[name] = np.broadcast_to(np.asarray(values, dtype=np.float64), (size,)).copy()
    return knobs


class _RecordingGrid:
    """A grid that keeps each cell's value, by table, column and row."""

    def __init__(self, knobs: dict[str, np.ndarray], data: Dataset, batch_size: int) -> None:
        self.knobs = knobs
        self.data = data
        self.batch_size = batch_size
        self.tables: dict[str, dict[str, list[np.ndarray]]] = {STEPS: {}, EPOCHS: {}, FIT: {}}

    def knob(self, name: str) -> Term:
        return reference(name, self.knobs[name])

    def point(self, index: int) -> tuple[Term, Term]:
        return literal(float(self.data.x[index])), literal(float(self.data.y[index]))

    def cell(self, table: str, row: int, key: str, term: Term) -> Term:
        rows = self.tables[table].setdefault(key, [])
        if len(rows) != row - 1:
            raise AssertionError(f"{table}.{key}: row {row} stored out of order")
        rows.append(np.broadcast_to(term.value, (self.batch_size,)).copy())
        return reference(key, rows[-1])

    def span(self, table: str, key: str, first: int, last: int) -> str:
        return f"{key}[{first}:{last}]"

    def points_span(self, column: str) -> str:
        return f"data.{column}"
