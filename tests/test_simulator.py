"""The simulator against real Excel, the phenomena learners report, and its own consistency."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import FIXTURES
from sheetgen.simulator import simulate
from sheetgen.template import SheetSpec
from sheetgen.training import EPOCHS, STEPS

# Columns of the golden files (values Excel computed in the lesson workbook) and the
# simulator's step columns they correspond to.
GOLDEN_COLUMNS = {
    "a": "a", "b": "b", "pred": "pred", "sq_err": "sq_err",
    "sq_err_a_plus_h": "sq_err_a_h", "sq_err_b_plus_h": "sq_err_b_h",
    "fd_grad_a": "fd_grad_a", "fd_grad_b": "fd_grad_b", "grad_a": "grad_a", "grad_b": "grad_b",
    "new_a": "new_a", "new_b": "new_b", "m_a": "m_a", "m_b": "m_b", "v_a": "v_a", "v_b": "v_b",
}


def linear_sheet(optimizer: str = "sgd", epochs: int = 1, **knobs: float) -> SheetSpec:
    values = {"lr": 1e-4, "h": 0.01, "init_a": 1.0, "init_b": 1.0} | knobs
    return SheetSpec("s", "linear", optimizer, "lesson", epochs, values)


def two_neuron_sheet(model: str, epochs: int, lr: float = 1e-4) -> SheetSpec:
    knobs = {"lr": lr, "h": 0.01} | {f"init_{w}": 1.0 for w in "abcd"}
    return SheetSpec("s", model, "sgd", "lesson", epochs, knobs)


def read_golden(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    knobs = json.loads((FIXTURES / f"{name}.json").read_text())
    with open(FIXTURES / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}
    return knobs, columns


def assert_matches_golden(run, columns: dict[str, np.ndarray]) -> None:
    assert len(run.column(STEPS, "x")) == len(columns["x"])
    np.testing.assert_array_equal(run.column(STEPS, "x")[:, 0], columns["x"])
    for golden_key, values in columns.items():
        if golden_key in ("x", "y"):
            continue
        simulated = run.column(STEPS, GOLDEN_COLUMNS[golden_key])[:, 0]
        np.testing.assert_allclose(simulated, values, rtol=1e-9, err_msg=golden_key)


def test_sgd_matches_excel(lesson) -> None:
    knobs, columns = read_golden("basic")
    sheet = linear_sheet(lr=knobs["lr"], h=knobs["fd_step"], init_a=knobs["a0"],
                         init_b=knobs["b0"])

    run = simulate(sheet, lesson)

    assert_matches_golden(run, columns)
    assert run.column(EPOCHS, "sqrt_sse")[0, 0] == pytest.approx(knobs["epoch_sqrt_sse"], 1e-12)


def test_momentum_matches_excel(lesson) -> None:
    knobs, columns = read_golden("momentum")
    sheet = linear_sheet(
        "momentum", lr=knobs["lr"], beta=knobs["beta"], init_a=knobs["a0"], init_b=knobs["b0"],
        init_m_a=knobs["m0_a"], init_m_b=knobs["m0_b"],
    )

    run = simulate(sheet, lesson)

    assert_matches_golden(run, columns)
    assert run.column(EPOCHS, "sqrt_sse")[0, 0] == pytest.approx(knobs["epoch_sqrt_sse"], 1e-12)


def test_rmsprop_matches_excel(lesson) -> None:
    knobs, columns = read_golden("rmsprop")
    sheet = linear_sheet(
        "rmsprop", lr=knobs["lr"], beta=knobs["beta"], eps=0.0, init_a=knobs["a0"],
        init_b=knobs["b0"], init_v_a=knobs["v0_a"], init_v_b=knobs["v0_b"],
    )

    assert_matches_golden(simulate(sheet, lesson), columns)


def test_linear_first_epoch_error(lesson) -> None:
    run = simulate(linear_sheet(epochs=5), lesson)

    assert run.column(EPOCHS, "sqrt_sse")[0, 0] == pytest.approx(150.755, abs=5e-4)
    assert np.all(np.isfinite(run.column(STEPS, "new_a")))


def test_two_neuron_blows_up_within_two_epochs(lesson) -> None:
    run = simulate(two_neuron_sheet("two_neuron", epochs=2), lesson)

    errors = run.column(EPOCHS, "sqrt_sse")[:, 0]
    assert errors[0] > 1e10
    assert not np.isfinite(errors[1])


def test_relu_dies_and_only_d_moves(lesson) -> None:
    run = simulate(two_neuron_sheet("two_neuron_relu", epochs=5), lesson)
    z = run.column(STEPS, "z")[:, 0]
    weights = {w: run.column(STEPS, f"new_{w}")[:, 0] for w in "abcd"}

    assert np.all(np.isfinite(run.column(STEPS, "sq_err")))
    # After the last step with z > 0, the ReLU is off for every x and stays off.
    last_alive = np.flatnonzero(z > 0).max()
    a, b = weights["a"][last_alive], weights["b"][last_alive]
    assert np.all(a * run.data.x + b <= 0)
    assert last_alive < len(run.data)  # it dies within the first epoch
    for w in "abc":
        assert np.all(weights[w][last_alive:] == weights[w][last_alive]), w
    assert np.all(np.diff(weights["d"][last_alive:]) != 0)


@pytest.mark.parametrize("model", ["linear", "two_neuron", "two_neuron_relu"])
def test_finite_differences_approach_derivatives(lesson, model) -> None:
    # err² is a polynomial in each weight, so (err²(w + h) − err²)/h − de/dw = O(h):
    # shrinking h 100-fold must shrink the gap about 100-fold. The ReLU's kink is skipped.
    weights = "ab" if model == "linear" else "abcd"
    knobs = {"lr": 1e-5, "h": 0.01} | {f"init_{w}": 0.5 for w in weights}
    sheet = SheetSpec("s", model, "sgd", "lesson", 1, knobs)

    run = simulate(sheet, lesson, {"h": np.array([1e-2, 1e-4])})

    smooth = np.ones(len(run.data), dtype=bool)
    if model == "two_neuron_relu":
        z = run.column(STEPS, "z")[:, 0]
        smooth = np.abs(z) > 1e-2 * np.abs(run.data.x)  # a + h must not cross the kink
    for w in weights:
        grad = run.column(STEPS, f"grad_{w}")[smooth]
        gap = np.abs(run.column(STEPS, f"fd_grad_{w}")[smooth] - grad)
        scale = np.abs(grad[:, 1]) + 1.0
        assert np.all(gap[:, 1] <= gap[:, 0] / 50 + 1e-9 * scale), w
        assert np.all(gap[:, 1] <= 1e-2 * scale), w


def test_batch_matches_single_runs(lesson) -> None:
    rates = np.array([1e-5, 1e-4, 3e-4])
    sheet = two_neuron_sheet("two_neuron_relu", epochs=2)

    batch = simulate(sheet, lesson, {"lr": rates})

    for index, rate in enumerate(rates):
        single = simulate(two_neuron_sheet("two_neuron_relu", epochs=2, lr=rate), lesson)
        for key in ("new_a", "new_d", "sq_err", "fd_grad_b"):
            np.testing.assert_array_equal(
                batch.column(STEPS, key)[:, index], single.column(STEPS, key)[:, 0]
            )
