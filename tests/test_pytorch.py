"""Tests that the simulator's pytorch flavor computes what torch.optim computes, step for step.

Each case trains a sheet's model in PyTorch itself: float64 weights, each its own 0-dim tensor,
one sample per step (zero_grad, backward of (pred − y)², step) with the real torch.optim
optimizer. The weights before and after each step, the prediction, the squared error, the
gradients and the optimizer state (momentum_buffer, square_avg, exp_avg, exp_avg_sq) must match
the simulator's columns of the same names.

On a CPU with FMA, torch's kernels for add_ with alpha, addcmul_ and lerp_ compute a·b + c as a
fused multiply-add with one rounding (measured with torch 2.13.0 on x86-64, for its AVX2 and
AVX-512 kernels). A spreadsheet rounds the product and the sum separately, so those runs agree
to a tolerance only. Torch's baseline x86-64 kernels (ATEN_CPU_CAPABILITY=default) round twice,
and with them the same runs agree bit for bit.

NOTE: the simulator subtracts as LibreOffice Calc does, so two numbers equal to 48 bits give
exactly 0, where torch keeps the tiny difference. None of these cases comes that close.

Run as a script, `python tests/test_pytorch.py DIRECTORY` writes every case's torch run to
DIRECTORY, for the bit-for-bit test to run torch in a process of its own.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_template
from sheetgen.data import Dataset, load_dataset
from sheetgen.models import MODELS
from sheetgen.simulator import Run, simulate
from sheetgen.template import SheetSpec, load_template

# With FMA kernels, the largest difference in this suite was 9.8e-16 of its column's scale
# (torch 2.13.0, AVX-512 kernels on an x86-64 AMD EPYC), so 1e-13 leaves room for other CPUs.
RELATIVE_TOLERANCE = 1e-13

# Learning rates that keep every model finite and training over the epochs below. Plain SGD and
# momentum need small ones because the lesson's x reaches 99. With momentum, two_neuron
# overflows from lr 1e-5 on.
LEARNING_RATES = {
    "sgd": 3e-6,
    "momentum": 1e-6,
    "rmsprop": 0.01,
    "adam": 0.01,
    "adam_annealed": 0.001,
}
EPOCHS = 4
# At lr 0.001, adam_annealed first lowers the learning rate in epoch 6 on every model below.
ANNEALED_EPOCHS = 7

# Per optimizer, the torch.optim state entry of each of the simulator's state variables.
TORCH_STATE = {
    "sgd": {},
    "momentum": {"m": "momentum_buffer"},
    "rmsprop": {"v": "square_avg"},
    "adam": {"m": "exp_avg", "v": "exp_avg_sq"},
    "adam_annealed": {"m": "exp_avg", "v": "exp_avg_sq"},
}

# Start weights. For two_neuron_relu, with z = a·x + b, "alive" keeps z > 0 at every lesson
# point. "partly_dead" starts with z = 0 exactly at the first point (x = 14), where torch's ReLU
# derivative is 0, and with z < 0 for x < 14. "dead" gives z < 0 at every point (all x > 0), so
# only d ever gets a gradient.
ALL_ONES = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
MODEL_STARTS = {
    "linear": ("linear", {"a": 1.0, "b": 1.0}),
    "two_neuron": ("two_neuron", ALL_ONES),
    "relu_alive": ("two_neuron_relu", ALL_ONES),
    "relu_partly_dead": ("two_neuron_relu", {"a": 1.0, "b": -14.0, "c": 1.0, "d": 1.0}),
    "relu_dead": ("two_neuron_relu", {"a": -1.0, "b": -1.0, "c": 1.0, "d": 1.0}),
}

# Nonzero start states, which torch takes from optimizer.state instead of its own zeros.
START_STATES = {
    "momentum": {"m": {"a": 300.0, "b": -20.0}},
    "rmsprop": {"v": {"a": 1e4, "b": 100.0}},
    "adam": {"m": {"a": 300.0, "b": -20.0}, "v": {"a": 1e4, "b": 100.0}},
}


@dataclass(frozen=True)
class Case:
    """One training run: a model, an optimizer, start weights and, if set, a start state."""

    name: str
    model: str
    optimizer: str
    init: dict[str, float]
    state: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return ANNEALED_EPOCHS if self.optimizer == "adam_annealed" else EPOCHS


def all_cases() -> list[Case]:
    """Return every model start with every optimizer, then the nonzero start states."""
    cases = [
        Case(f"{start}-{optimizer}", model, optimizer, init)
        for start, (model, init) in MODEL_STARTS.items()
        for optimizer in LEARNING_RATES
    ]
    cases += [
        Case(f"linear-start_state-{optimizer}", "linear", optimizer, {"a": 1.0, "b": 1.0}, state)
        for optimizer, state in START_STATES.items()
    ]
    return cases


CASES = all_cases()
CASE_PARAMS = [pytest.param(case, id=case.name) for case in CASES]


def load_sheet(case: Case, directory: Path) -> tuple[SheetSpec, Dataset]:
    """Write `case` as a one-sheet template in `directory` and load it with its defaults."""
    init = ", ".join(f"{weight} = {value!r}" for weight, value in case.init.items())
    lines = [
        "[data]",
        'source = "lesson"',
        "[[sheet]]",
        'name = "s"',
        f'model = "{case.model}"',
        f'optimizer = "{case.optimizer}"',
        'flavor = "pytorch"',
        f"lr = {LEARNING_RATES[case.optimizer]!r}",
        f"epochs = {case.epochs}",
        f"init = {{ {init} }}",
    ]
    for variable, values in case.state.items():
        start = ", ".join(f"{weight} = {value!r}" for weight, value in values.items())
        lines.append(f"state.{variable} = {{ {start} }}")

    path = write_template(directory, "\n".join(lines) + "\n", f"{case.name}.toml")
    template = load_template(path)
    return template.sheets[0], load_dataset(template.data)


def make_optimizer(sheet: SheetSpec, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Return the torch.optim optimizer that the sheet's pytorch flavor follows."""
    knobs = sheet.knobs
    # foreach=False pins the single-tensor code path, which torch also picks for CPU tensors
    # and whose order of operations the pytorch flavor follows.
    if sheet.optimizer == "sgd":
        return torch.optim.SGD(params, lr=knobs["lr"], foreach=False)
    if sheet.optimizer == "momentum":
        return torch.optim.SGD(params, lr=knobs["lr"], momentum=knobs["beta"], foreach=False)
    if sheet.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=knobs["lr"], alpha=knobs["beta"], eps=knobs["eps"], foreach=False
        )
    if sheet.optimizer in ("adam", "adam_annealed"):
        betas = (knobs["beta1"], knobs["beta2"])
        return torch.optim.Adam(
            params, lr=knobs["lr"], betas=betas, eps=knobs["eps"], foreach=False
        )
    raise ValueError(f"optimizer {sheet.optimizer!r} has no torch.optim counterpart here")


def set_start_state(
    sheet: SheetSpec, optimizer: torch.optim.Optimizer, weights: dict[str, torch.Tensor]
) -> None:
    """Store the sheet's start state in optimizer.state when it is not all zeros.

    With all zeros, torch's own lazy start applies: zeros for Adam and RMSprop, and for
    momentum a buffer that starts as the first gradient, which equals 0·beta + g.
    """
    names = TORCH_STATE[sheet.optimizer]
    starts = {
        (variable, weight): sheet.knobs[f"init_{variable}_{weight}"]
        for variable in names
        for weight in weights
    }
    if all(value == 0.0 for value in starts.values()):
        return

    for weight, tensor in weights.items():
        state = optimizer.state[tensor]
        if sheet.optimizer != "momentum":
            state["step"] = torch.tensor(0.0)
        for variable, torch_name in names.items():
            state[torch_name] = torch.tensor(starts[variable, weight], dtype=torch.float64)


def predict(model: str, w: dict[str, torch.Tensor], x: float) -> torch.Tensor:
    """Return the model's prediction with the operands in the order models.py uses."""
    z = w["a"] * x + w["b"]
    if model == "linear":
        return z
    hidden = torch.relu(z) if model == "two_neuron_relu" else z
    return w["c"] * hidden + w["d"]


def anneals(sums_of_roots: list[float]) -> bool:
    """Return whether adam_annealed lowers the learning rate for the next epoch.

    It does when the last epoch's Σ√v exceeds twice the smallest Σ√v of the epochs before it.
    """
    return len(sums_of_roots) >= 2 and sums_of_roots[-1] > 2 * min(sums_of_roots[:-1])


def train_in_torch(sheet: SheetSpec, data: Dataset) -> dict[str, dict[str, np.ndarray]]:
    """Train the sheet's model with torch.optim, one sample per step.

    Return columns named as the simulator names them, by table: "steps" (one row per step)
    and "epochs" (one row per epoch).
    """
    torch_state = TORCH_STATE[sheet.optimizer]
    weights = {
        name: torch.tensor(sheet.knobs[f"init_{name}"], dtype=torch.float64, requires_grad=True)
        for name in MODELS[sheet.model].weights
    }
    optimizer = make_optimizer(sheet, list(weights.values()))
    set_start_state(sheet, optimizer, weights)
    group = optimizer.param_groups[0]

    steps: dict[str, list[float]] = defaultdict(list)
    epochs: dict[str, list[float]] = defaultdict(list)
    sums_of_roots: list[float] = []
    for _ in range(sheet.epochs):
        if sheet.optimizer == "adam_annealed" and anneals(sums_of_roots):
            group["lr"] = group["lr"] / 4
        epochs["lr"].append(group["lr"])

        for x, y in zip(data.x.tolist(), data.y.tolist(), strict=True):
            for name, weight in weights.items():
                steps[name].append(weight.item())

            pred = predict(sheet.model, weights, x)
            loss = (pred - y) ** 2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            steps["pred"].append(pred.item())
            steps["sq_err"].append(loss.item())
            for name, weight in weights.items():
                steps[f"grad_{name}"].append(weight.grad.item())
                steps[f"new_{name}"].append(weight.item())
                for variable, torch_name in torch_state.items():
                    steps[f"{variable}_{name}"].append(optimizer.state[weight][torch_name].item())

        for name, weight in weights.items():
            epochs[f"end_{name}"].append(weight.item())
        if sheet.optimizer == "adam_annealed":
            # Added one by one in weight order, as the sheet adds them, because Python's sum()
            # compensates rounding from Python 3.12 on.
            sum_of_roots = 0.0
            for weight in weights.values():
                root = math.sqrt(optimizer.state[weight]["exp_avg_sq"].item())
                sum_of_roots = sum_of_roots + root
            sums_of_roots.append(sum_of_roots)
            epochs["sum_sqrt_v"].append(sum_of_roots)

    return {
        "steps": {key: np.array(values) for key, values in steps.items()},
        "epochs": {key: np.array(values) for key, values in epochs.items()},
    }


def relative_differences(simulated: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Return |simulated − expected| per row, relative to the column's largest |expected|.

    The scale is the column's, not the row's, because a value near 0 keeps the absolute
    rounding error of the larger values it is computed from. With FMA kernels, a momentum
    of −0.48 in a column that reaches 3.6e3 differs from torch's by 1.8e-11 of itself.
    Equal rows give 0. When `expected` is all zeros, any other row gives inf.
    """
    scale = np.abs(expected).max()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(simulated - expected) / scale
    return np.where(simulated == expected, 0.0, ratio)


def assert_run_matches(
    case: Case, run: Run, torch_run: dict[str, dict[str, np.ndarray]], rtol: float
) -> None:
    """Assert that every column of the torch run matches the simulator's within `rtol`."""
    for table, columns in torch_run.items():
        for key, expected in columns.items():
            where = f"{case.name}, {table}.{key}"
            simulated = run.column(table, key)[:, 0]
            assert simulated.shape == expected.shape, f"{where}: row counts differ"
            assert np.isfinite(expected).all(), f"{where}: torch overflowed, so lower this lr"

            differences = relative_differences(simulated, expected)
            row = int(np.argmax(differences))
            assert differences[row] <= rtol, (
                f"{where}, row {row + 1}: simulator {simulated[row]!r}, "
                f"torch {expected[row]!r}, relative difference {differences[row]:.2e}"
            )


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_steps_match_torch(case: Case, tmp_path: Path) -> None:
    sheet, data = load_sheet(case, tmp_path)

    torch_run = train_in_torch(sheet, data)
    run = simulate(sheet, data)

    assert_run_matches(case, run, torch_run, RELATIVE_TOLERANCE)


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="torch's baseline kernels are known to round a·b + c twice only on x86-64",
)
def test_steps_match_torch_bit_for_bit_without_fma(tmp_path: Path) -> None:
    environment = os.environ | {"ATEN_CPU_CAPABILITY": "default"}
    script = subprocess.run(
        [sys.executable, __file__, str(tmp_path)],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.strip() == "kernels: DEFAULT", "torch ignored ATEN_CPU_CAPABILITY"

    for case in CASES:
        sheet, data = load_sheet(case, tmp_path)
        with np.load(tmp_path / f"{case.name}.npz") as saved:
            torch_run: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
            for name in saved.files:
                table, key = name.split(".")
                torch_run[table][key] = saved[name]
        run = simulate(sheet, data)

        assert_run_matches(case, run, torch_run, 0.0)


@pytest.mark.parametrize("start", ["relu_alive", "relu_partly_dead", "relu_dead"])
def test_relu_starts_block_expected_steps(start: str, tmp_path: Path) -> None:
    model, init = MODEL_STARTS[start]
    sheet, data = load_sheet(Case(start, model, "sgd", init), tmp_path)

    grad_a = train_in_torch(sheet, data)["steps"]["grad_a"]

    blocked_steps = np.count_nonzero(grad_a == 0.0)
    if start == "relu_alive":
        assert blocked_steps == 0
    elif start == "relu_partly_dead":
        assert grad_a[0] == 0.0, "z = 0 at the first point must give gradient 0"
        assert 0 < blocked_steps < len(grad_a)
    else:
        assert blocked_steps == len(grad_a)


def test_annealed_cases_lower_lr(tmp_path: Path) -> None:
    for case in CASES:
        if case.optimizer != "adam_annealed":
            continue
        sheet, data = load_sheet(case, tmp_path)

        epoch_lrs = train_in_torch(sheet, data)["epochs"]["lr"]

        assert epoch_lrs[-1] < epoch_lrs[0], f"{case.name}: torch never lowered lr"


def save_torch_runs(directory: Path) -> None:
    """Train every case in torch and save its columns to DIRECTORY/<case>.npz."""
    for case in CASES:
        sheet, data = load_sheet(case, directory)
        torch_run = train_in_torch(sheet, data)
        columns = {
            f"{table}.{key}": values
            for table, table_columns in torch_run.items()
            for key, values in table_columns.items()
        }
        np.savez(directory / f"{case.name}.npz", **columns)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/test_pytorch.py DIRECTORY")
    save_torch_runs(Path(sys.argv[1]))
    print(f"kernels: {torch.backends.cpu.get_cpu_capability()}")
