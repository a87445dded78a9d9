"""The output of `sheetgen simulate`: a per-epoch error table, or each step's values as JSON."""

from __future__ import annotations

import json
import math

from .expr import error_name
from .simulator import Run
from .training import EPOCHS, STEPS


def epoch_table(runs: list[Run]) -> str:
    """Return one text table per sheet: per epoch, lr, √SSE, RMSE and the weights at its end."""
    blocks = []
    for run in runs:
        spec = run.sheet
        columns = ["epoch", "lr", "sqrt_sse", "rmse", *run.weights]
        lines = [
            f"sheet {spec.name}: model {spec.model}, optimizer {spec.optimizer} "
            f"({spec.flavor} flavor), {len(run.data)} points",
            "  ".join(f"{name:>14}" for name in columns),
        ]
        for row in range(spec.epochs):
            values = [
                run.column(EPOCHS, key if key in ("epoch", "lr", "sqrt_sse", "rmse")
                           else f"end_{key}")[row, 0]
                for key in columns
            ]
            cells = [f"{int(values[0]):>14}"] + [f"{_format(value):>14}" for value in values[1:]]
            lines.append("  ".join(cells))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def to_json(runs: list[Run]) -> str:
    """Return each step's and each epoch's main values as JSON; a non-finite number is null.

    Per step: epoch, x, y, the weights used (params), pred, sq_err, the derivatives (grad),
    their finite-difference estimates (fd_grad), the new weights (new_params) and, for an
    optimizer with state, the state after the step. Per epoch: its lr, sqrt_sse, rmse and
    the weights at its end (params).
    """
    return json.dumps({"sheets": [_sheet_json(run) for run in runs]}, indent=1, allow_nan=False)


def _sheet_json(run: Run) -> dict:
    spec = run.sheet

    def number(table: str, key: str, row: int) -> float | None:
        value = float(run.column(table, key)[row, 0])
        return value if math.isfinite(value) else None

    def weights(table: str, row: int, pattern: str) -> dict[str, float | None]:
        return {w: number(table, pattern.format(w=w), row) for w in run.weights}

    epochs = [
        {
            "epoch": row + 1,
            "lr": number(EPOCHS, "lr", row),
            "sqrt_sse": number(EPOCHS, "sqrt_sse", row),
            "rmse": number(EPOCHS, "rmse", row),
            "params": weights(EPOCHS, row, "end_{w}"),
        }
        for row in range(spec.epochs)
    ]
    steps = []
    for row in range(len(run.column(STEPS, "step"))):
        step = {
            "epoch": int(run.column(STEPS, "epoch")[row, 0]),
            "x": number(STEPS, "x", row),
            "y": number(STEPS, "y", row),
            "params": weights(STEPS, row, "{w}"),
            "pred": number(STEPS, "pred", row),
            "sq_err": number(STEPS, "sq_err", row),
            "grad": weights(STEPS, row, "grad_{w}"),
            "fd_grad": weights(STEPS, row, "fd_grad_{w}"),
            "new_params": weights(STEPS, row, "new_{w}"),
        }
        if run.state_variables:
            step["state"] = {
                variable: weights(STEPS, row, variable + "_{w}") for variable in run.state_variables
            }
        steps.append(step)
    return {
        "name": spec.name,
        "model": spec.model,
        "optimizer": spec.optimizer,
        "flavor": spec.flavor,
        "epochs": epochs,
        "steps": steps,
    }


def _format(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else error_name(value)
