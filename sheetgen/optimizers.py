"""The optimizers of the lesson, each in two flavors, computed on `Term`s.

Flavor "lesson" follows the formulas of the lesson workbook (graddesc.xlsm) in their order of
operations. Flavor "pytorch" follows torch.optim (SGD with momentum and dampening 0, RMSprop,
Adam with bias correction) in the order of operations of its single-tensor code path.

An update stores one cell per state variable and weight (`m_a`, `v_a`) and then one per new
weight (`new_a`), and returns references to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .expr import Term, power, sqrt

Put = Callable[[str, Term], Term]
Weights = Mapping[str, Term]
State = dict[str, dict[str, Term]]

FLAVORS = ("lesson", "pytorch")


@dataclass(frozen=True)
class Optimizer:
    """An update rule: its state variables, its knobs and the maths a sheet shows for it."""

    name: str
    state_variables: tuple[str, ...]
    hyperparameters: tuple[str, ...]
    annealed: bool = False

    def default_knobs(self, flavor: str) -> dict[str, float]:
        """Return the default of each hyperparameter (lr and h aside) for `flavor`."""
        defaults = _DEFAULTS[flavor] | _DEFAULTS.get((self.name, flavor), {})
        return {name: defaults[name] for name in self.hyperparameters}

    def default_state(self, flavor: str, variable: str) -> float:
        """Return the value every weight's state variable starts from unless a template sets it."""
        # The lesson's RMSProp divides by √v before updating v, so v must not start at 0.
        # Starting at 1 makes its first step a plain SGD step.
        if variable == "v" and self.name == "rmsprop" and flavor == "lesson":
            return 1.0
        return 0.0

    def rules(self, flavor: str) -> tuple[str, ...]:
        """Return the update rule as lines of maths, for the sheet's explanation rows."""
        return _RULES[self.name, flavor]

    def update(
        self,
        flavor: str,
        put: Put,
        w: Weights,
        grads: Weights,
        state: State,
        knobs: Mapping[str, Term],
        lr: Term,
        step: Term,
    ) -> tuple[dict[str, Term], State]:
        """Store the new state and the new weights as cells of this step; return references."""
        return _UPDATES[self.name, flavor](put, w, grads, state, knobs, lr, step)


# Defaults per flavor, then per optimizer and flavor. The lesson's values are the lesson
# workbook's; the pytorch values are torch.optim's own defaults, except momentum, whose
# torch default 0 would make it plain SGD. eps = 1e-8 keeps 0/0 out of the sheet when a
# gradient stays 0, as it does for a dead ReLU.
_DEFAULTS: dict = {
    "lesson": {"beta": 0.9, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8},
    "pytorch": {"beta": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    ("rmsprop", "pytorch"): {"beta": 0.99},
}


def _sgd(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term], lr: Term,
         step: Term) -> tuple[dict[str, Term], State]:
    new_w = {p: put(f"new_{p}", w[p] - g[p] * lr) for p in w}
    return new_w, state


def _momentum_lesson(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                     lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    beta = k["beta"]
    m = {p: put(f"m_{p}", state["m"][p] * beta + (1 - beta) * g[p]) for p in w}
    new_w = {p: put(f"new_{p}", w[p] - m[p] * lr) for p in w}
    return new_w, {"m": m}


def _momentum_pytorch(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                      lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    # torch.optim.SGD with dampening 0: buf = momentum·buf + g, p = p − lr·buf.
    # Limitation: on CPUs with FMA, torch computes p + (−lr)·buf with one rounding and a formula
    # cannot, so new w can differ from torch's by a rounding.
    beta = k["beta"]
    m = {p: put(f"m_{p}", state["m"][p] * beta + g[p]) for p in w}
    new_w = {p: put(f"new_{p}", w[p] - lr * m[p]) for p in w}
    return new_w, {"m": m}


def _rmsprop_lesson(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                    lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    # The step divides by v from before this step's update, as the lesson's sheet does.
    beta, eps = k["beta"], k["eps"]
    v = {p: put(f"v_{p}", state["v"][p] * beta + (1 - beta) * g[p] * g[p]) for p in w}
    new_w = {
        p: put(f"new_{p}", w[p] - g[p] * lr / (sqrt(state["v"][p]) + eps)) for p in w
    }
    return new_w, {"v": v}


def _rmsprop_pytorch(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                     lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    # torch.optim.RMSprop in the order of its kernels: v = alpha·v + ((1 − alpha)·g)·g,
    # p = p − (lr·g) / (√v + eps).
    # Limitation: on CPUs with FMA, torch adds ((1 − alpha)·g)·g to alpha·v with one rounding
    # and a formula cannot, so v can differ from torch's by a rounding.
    beta, eps = k["beta"], k["eps"]
    v = {p: put(f"v_{p}", state["v"][p] * beta + (1 - beta) * g[p] * g[p]) for p in w}
    new_w = {p: put(f"new_{p}", w[p] - lr * g[p] / (sqrt(v[p]) + eps)) for p in w}
    return new_w, {"v": v}


def _adam_lesson(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                 lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    beta1, beta2, eps = k["beta1"], k["beta2"], k["eps"]
    m = {p: put(f"m_{p}", state["m"][p] * beta1 + (1 - beta1) * g[p]) for p in w}
    v = {p: put(f"v_{p}", state["v"][p] * beta2 + (1 - beta2) * g[p] * g[p]) for p in w}
    new_w = {p: put(f"new_{p}", w[p] - m[p] * lr / (sqrt(v[p]) + eps)) for p in w}
    return new_w, {"m": m, "v": v}


def _adam_pytorch(put: Put, w: Weights, g: Weights, state: State, k: Mapping[str, Term],
                  lr: Term, step: Term) -> tuple[dict[str, Term], State]:
    # torch.optim.Adam in the order of its kernels, t counting from 1:
    # m = m + (1 − beta1)·(g − m), v = beta2·v + ((1 − beta2)·g)·g,
    # p = p − (lr/(1 − beta1^t)·m) / (√v / (1 − beta2^t)^0.5 + eps).
    # torch computes both bias corrections in Python floats, whose ** is C pow() as in power().
    # Limitation: on CPUs with FMA, torch computes m and v with one rounding each (lerp_,
    # addcmul_) and a formula cannot, so they can differ from torch's by a rounding.
    # NOTE: for beta1 ≤ 0.5, torch's lerp_ computes m = g − (g − m)·(1 − (1 − beta1)) instead.
    beta1, beta2, eps = k["beta1"], k["beta2"], k["eps"]
    m = {p: put(f"m_{p}", state["m"][p] + (1 - beta1) * (g[p] - state["m"][p])) for p in w}
    v = {p: put(f"v_{p}", state["v"][p] * beta2 + (1 - beta2) * g[p] * g[p]) for p in w}
    step_size = lr / (1 - power(beta1, step))
    root_correction = power(1 - power(beta2, step), 0.5)
    new_w = {
        p: put(f"new_{p}", w[p] - step_size * m[p] / (sqrt(v[p]) / root_correction + eps))
        for p in w
    }
    return new_w, {"m": m, "v": v}


_UPDATES = {
    ("sgd", "lesson"): _sgd,
    ("sgd", "pytorch"): _sgd,
    ("momentum", "lesson"): _momentum_lesson,
    ("momentum", "pytorch"): _momentum_pytorch,
    ("rmsprop", "lesson"): _rmsprop_lesson,
    ("rmsprop", "pytorch"): _rmsprop_pytorch,
    ("adam", "lesson"): _adam_lesson,
    ("adam", "pytorch"): _adam_pytorch,
    ("adam_annealed", "lesson"): _adam_lesson,
    ("adam_annealed", "pytorch"): _adam_pytorch,
}

_SGD_RULES = ("new w = w − lr · de/dw",)
_ANNEALING = (
    "per epoch, s = Σ √v at its end; the next epoch's lr is this epoch's lr, divided by 4 "
    "when s > 2 · (smallest s of the epochs before)",
)
_RULES = {
    ("sgd", "lesson"): _SGD_RULES,
    ("sgd", "pytorch"): _SGD_RULES,
    ("momentum", "lesson"): (
        "m = beta · m + (1 − beta) · de/dw",
        "new w = w − lr · m",
    ),
    ("momentum", "pytorch"): (
        "m = beta · m + de/dw   (torch.optim.SGD, dampening 0)",
        "new w = w − lr · m",
    ),
    ("rmsprop", "lesson"): (
        "new w = w − lr · de/dw / (√v + eps), with v of the row above",
        "v = beta · v + (1 − beta) · (de/dw)²",
    ),
    ("rmsprop", "pytorch"): (
        "v = beta · v + (1 − beta) · (de/dw)²   (torch.optim.RMSprop, alpha = beta)",
        "new w = w − lr · de/dw / (√v + eps)",
    ),
    ("adam", "lesson"): (
        "m = beta1 · m + (1 − beta1) · de/dw,  v = beta2 · v + (1 − beta2) · (de/dw)²",
        "new w = w − lr · m / (√v + eps)   (no bias correction)",
    ),
    ("adam", "pytorch"): (
        "m = m + (1 − beta1) · (de/dw − m),  v = beta2 · v + (1 − beta2) · (de/dw)²",
        "new w = w − lr / (1 − beta1^t) · m / (√v / √(1 − beta2^t) + eps),  t = step",
    ),
}
_RULES["adam_annealed", "lesson"] = _RULES["adam", "lesson"] + _ANNEALING
_RULES["adam_annealed", "pytorch"] = _RULES["adam", "pytorch"] + _ANNEALING

OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer("sgd", (), ()),
    "momentum": Optimizer("momentum", ("m",), ("beta",)),
    "rmsprop": Optimizer("rmsprop", ("v",), ("beta", "eps")),
    "adam": Optimizer("adam", ("m", "v"), ("beta1", "beta2", "eps")),
    "adam_annealed": Optimizer("adam_annealed", ("m", "v"), ("beta1", "beta2", "eps"), True),
}
