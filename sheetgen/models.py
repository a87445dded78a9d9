"""The models a training sheet can fit: each one's forward pass and its derivatives side by side.

A model computes on `Term`s, so the same lines give the formulas of a sheet and the values of
the simulator. `put(key, term)` stores a term as the cell `key` of the current step row and
returns a reference to that cell. `predict` builds the whole prediction inline instead,
because each finite-difference column needs the prediction with one weight nudged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .expr import Term, choose, relu

Put = Callable[[str, Term], Term]


@dataclass(frozen=True)
class Model:
    """A model y = f(x) with named weights, and how to compute it and its derivatives."""

    name: str
    equation: str
    weights: tuple[str, ...]
    derivation: tuple[str, ...]

    def predict(self, w: Mapping[str, Term], x: Term) -> Term:
        """Return the prediction for `x` as one inline term."""
        raise NotImplementedError

    def forward(self, w: Mapping[str, Term], x: Term, put: Put) -> dict[str, Term]:
        """Store the intermediate values and the prediction as cells; return them by key."""
        raise NotImplementedError

    def backward(
        self, w: Mapping[str, Term], x: Term, cells: Mapping[str, Term], err: Term, put: Put
    ) -> dict[str, Term]:
        """Store d(err²)/dw of each weight as a cell, output side first (the chain rule's order).

        Return the derivatives by weight, in that order.
        """
        raise NotImplementedError


class Linear(Model):
    """y = a·x + b, the lesson's model."""

    def predict(self, w: Mapping[str, Term], x: Term) -> Term:
        return w["a"] * x + w["b"]

    def forward(self, w: Mapping[str, Term], x: Term, put: Put) -> dict[str, Term]:
        return {"pred": put("pred", self.predict(w, x))}

    def backward(
        self, w: Mapping[str, Term], x: Term, cells: Mapping[str, Term], err: Term, put: Put
    ) -> dict[str, Term]:
        de_db = put("grad_b", 2 * err)
        de_da = put("grad_a", de_db * x)
        return {"b": de_db, "a": de_da}


class TwoNeuron(Model):
    """y = c·(a·x + b) + d: two linear neurons in a row, still a straight line in x."""

    def predict(self, w: Mapping[str, Term], x: Term) -> Term:
        return w["c"] * (w["a"] * x + w["b"]) + w["d"]

    def forward(self, w: Mapping[str, Term], x: Term, put: Put) -> dict[str, Term]:
        z = put("z", w["a"] * x + w["b"])
        pred = put("pred", w["c"] * z + w["d"])
        return {"z": z, "pred": pred}

    def backward(
        self, w: Mapping[str, Term], x: Term, cells: Mapping[str, Term], err: Term, put: Put
    ) -> dict[str, Term]:
        de_dd = put("grad_d", 2 * err)
        de_dc = put("grad_c", de_dd * cells["z"])
        de_db = put("grad_b", de_dd * w["c"])
        de_da = put("grad_a", de_db * x)
        return {"d": de_dd, "c": de_dc, "b": de_db, "a": de_da}


class TwoNeuronRelu(Model):
    """y = c·max(a·x + b, 0) + d: the first neuron's output goes through a ReLU."""

    def predict(self, w: Mapping[str, Term], x: Term) -> Term:
        return w["c"] * relu(w["a"] * x + w["b"]) + w["d"]

    def forward(self, w: Mapping[str, Term], x: Term, put: Put) -> dict[str, Term]:
        z = put("z", w["a"] * x + w["b"])
        hidden = put("relu", relu(z))
        pred = put("pred", w["c"] * hidden + w["d"])
        return {"z": z, "relu": hidden, "pred": pred}

    def backward(
        self, w: Mapping[str, Term], x: Term, cells: Mapping[str, Term], err: Term, put: Put
    ) -> dict[str, Term]:
        de_dd = put("grad_d", 2 * err)
        de_dc = put("grad_c", de_dd * cells["relu"])
        # The ReLU passes the gradient where z > 0 and blocks it elsewhere; a ReLU that
        # is off for every x blocks a, b and c for good (a "dead" ReLU), and only d learns.
        de_db = put("grad_b", choose(cells["z"] > 0, de_dd * w["c"], 0))
        de_da = put("grad_a", de_db * x)
        return {"d": de_dd, "c": de_dc, "b": de_db, "a": de_da}


_ERROR = ("err = pred − y, and the step's error is err²",)

MODELS: dict[str, Model] = {
    "linear": Linear(
        name="linear",
        equation="y = a·x + b",
        weights=("a", "b"),
        derivation=(
            "pred = a·x + b",
            *_ERROR,
            "de/db = 2·err",
            "de/da = de/db · x",
        ),
    ),
    "two_neuron": TwoNeuron(
        name="two_neuron",
        equation="y = c·(a·x + b) + d",
        weights=("a", "b", "c", "d"),
        derivation=(
            "z = a·x + b,  pred = c·z + d",
            *_ERROR,
            "de/dd = 2·err,  de/dc = de/dd · z",
            "de/db = de/dd · c,  de/da = de/db · x",
        ),
    ),
    "two_neuron_relu": TwoNeuronRelu(
        name="two_neuron_relu",
        equation="y = c·max(a·x + b, 0) + d",
        weights=("a", "b", "c", "d"),
        derivation=(
            "z = a·x + b,  relu = max(z, 0),  pred = c·relu + d",
            *_ERROR,
            "de/dd = 2·err,  de/dc = de/dd · relu",
            "de/db = de/dd · c where z > 0, else 0,  de/da = de/db · x",
        ),
    ),
}
