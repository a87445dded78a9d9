"""The training run of one sheet, step by step, written once for the simulator and the workbook.

`run_training` walks the epochs and steps of a sheet and hands every cell to a `Grid`: the
simulator's grid records the values, the workbook's grid writes formulas into a worksheet.
A sheet has three tables, each with one row per index: STEPS (one optimizer step, on one point),
EPOCHS (the summary of each epoch) and FIT (the model's prediction after the last epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Protocol

from .data import Dataset
from .expr import Term, choose, largest, literal, smallest, sqrt, total
from .models import MODELS, Model
from .optimizers import OPTIMIZERS, Optimizer
from .template import SheetSpec

STEPS, EPOCHS, FIT = "steps", "epochs", "fit"
FIT_POINTS = 41
ANNEAL_FACTOR = 4  # adam_annealed divides the learning rate by this when it anneals


class Grid(Protocol):
    """The destination of a training run's cells: a recorder or a worksheet."""

    def knob(self, name: str) -> Term:
        """Return the knob called `name`."""
        ...

    def point(self, index: int) -> tuple[Term, Term]:
        """Return x and y of the data point at `index` (0-based)."""
        ...

    def points_span(self, column: str) -> str:
        """Return the range text of every point's "x" or "y"."""
        ...

    def cell(self, table: str, row: int, key: str, term: Term) -> Term:
        """Store `term` in column `key` of row `row` (1-based) of `table`; return a reference."""
        ...

    def span(self, table: str, key: str, first: int, last: int) -> str:
        """Return the range text of column `key` from row `first` to row `last` of `table`."""
        ...


def run_training(sheet: SheetSpec, data: Dataset, grid: Grid) -> None:
    """Put every cell of the training run of `sheet` on `data` into `grid`, in order."""
    model, optimizer = MODELS[sheet.model], OPTIMIZERS[sheet.optimizer]
    knobs = {name: grid.knob(name) for name in sheet.knobs}
    w = {weight: knobs[f"init_{weight}"] for weight in model.weights}
    state = {
        variable: {weight: knobs[f"init_{variable}_{weight}"] for weight in model.weights}
        for variable in optimizer.state_variables
    }

    step = 0
    epoch_lrs: list[Term] = []
    sums_of_roots: list[Term] = []
    for epoch in range(1, sheet.epochs + 1):
        put = partial(grid.cell, EPOCHS, epoch)
        put("epoch", literal(epoch))
        epoch_lr = put("lr", _epoch_lr(grid, knobs["lr"], epoch_lrs, sums_of_roots))
        epoch_lrs.append(epoch_lr)
        step_lr = epoch_lr if optimizer.annealed else knobs["lr"]

        first_step = step + 1
        squared_errors = []
        for index in range(len(data)):
            step += 1
            w, state, squared_error = _train_step(
                model, optimizer, sheet.flavor, grid, step, epoch, index, w, state, knobs, step_lr
            )
            squared_errors.append(squared_error)

        sse_range = grid.span(STEPS, "sq_err", first_step, step)
        put("sqrt_sse", sqrt(total(sse_range, squared_errors)))
        put("rmse", sqrt(total(sse_range, squared_errors) / len(data)))
        for weight in model.weights:
            put(f"end_{weight}", w[weight])
        if optimizer.annealed:
            roots = [sqrt(state["v"][weight]) for weight in model.weights]
            sums_of_roots.append(put("sum_sqrt_v", _add_all(roots)))

    _fit_table(model, data, grid, w)


def _train_step(
    model: Model,
    optimizer: Optimizer,
    flavor: str,
    grid: Grid,
    step: int,
    epoch: int,
    index: int,
    w: Mapping[str, Term],
    state: dict[str, dict[str, Term]],
    knobs: Mapping[str, Term],
    lr: Term,
) -> tuple[dict[str, Term], dict[str, dict[str, Term]], Term]:
    put = partial(grid.cell, STEPS, step)
    step_number = put("step", literal(step))
    put("epoch", literal(epoch))
    x_value, y_value = grid.point(index)
    x, y = put("x", x_value), put("y", y_value)

    w = {weight: put(weight, w[weight]) for weight in model.weights}
    cells = model.forward(w, x, put)
    err = put("err", cells["pred"] - y)
    squared_error = put("sq_err", err * err)
    grads = model.backward(w, x, cells, err, put)

    # Finite differences as the lesson estimates them: (err² with w + h − err²) / h.
    h = knobs["h"]
    for weight in grads:
        nudged_err = model.predict({**w, weight: w[weight] + h}, x) - y
        nudged = put(f"sq_err_{weight}_h", nudged_err * nudged_err)
        put(f"fd_grad_{weight}", (nudged - squared_error) / h)

    ordered_grads = {weight: grads[weight] for weight in model.weights}
    new_w, state = optimizer.update(
        flavor, put, w, ordered_grads, state, knobs, lr, step_number
    )
    return new_w, state, squared_error


def _epoch_lr(grid: Grid, lr: Term, epoch_lrs: list[Term], sums_of_roots: list[Term]) -> Term:
    # Annealing compares the last epoch's Σ√v with the smallest of the epochs before it,
    # so it can first act on the third epoch.
    if not sums_of_roots:
        return lr
    if len(sums_of_roots) == 1:
        return epoch_lrs[-1]
    earlier = sums_of_roots[:-1]
    smallest_earlier = smallest(grid.span(EPOCHS, "sum_sqrt_v", 1, len(earlier)), earlier)
    previous_lr = epoch_lrs[-1]
    return choose(
        sums_of_roots[-1] > 2 * smallest_earlier, previous_lr / ANNEAL_FACTOR, previous_lr
    )


def _fit_table(model: Model, data: Dataset, grid: Grid, w: Mapping[str, Term]) -> None:
    # Evenly spaced x from the smallest to the largest data x, live, so the line follows
    # edited data points.
    xs = [grid.point(index)[0] for index in range(len(data))]
    low, high = smallest(grid.points_span("x"), xs), largest(grid.points_span("x"), xs)
    for row in range(1, FIT_POINTS + 1):
        put = partial(grid.cell, FIT, row)
        x = low if row == 1 else low + (row - 1) * (high - low) / (FIT_POINTS - 1)
        x_cell = put("x", x)
        put("pred", model.predict(w, x_cell))


def _add_all(terms: list[Term]) -> Term:
    result = terms[0]
    for term in terms[1:]:
        result = result + term
    return result
