"""Templates: read a TOML template, apply `--set` overrides and check every key.

A template has one `[data]` table and one `[[sheet]]` table per training sheet; see
docs/templates.md for every key. Each mistake raises `InputError` with one sentence that names
the file, the sheet and the key at fault and what would be accepted.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .models import MODELS
from .optimizers import FLAVORS, OPTIMIZERS

DEFAULT_LR = 0.0001
DEFAULT_EPOCHS = 5
DEFAULT_H = 0.01
DEFAULT_INIT = 1.0
# Spreadsheet programs grow sluggish long before a worksheet's 1,048,576 rows; this is 3,448
# epochs of the lesson's 29 points, far more than a lesson needs.
MAX_STEP_ROWS = 100_000
# LibreOffice computes 1 − beta as 0 when beta is within 2^-48 of 1 (it treats operands
# that close as equal), which would stop the averages and divide Adam's steps by 0.
MAX_BETA = 0.999999999999
# The workbook's own sheets, and History, which Excel reserves.
RESERVED_SHEET_NAMES = ("about", "data", "history")

SHEET_KEYS = (
    "name", "model", "optimizer", "flavor", "lr", "epochs", "init", "h",
    "beta", "beta1", "beta2", "eps", "state",
)
DATA_KEYS = {
    "lesson": ("source",),
    "synthetic": ("source", "n", "slope", "intercept", "x_min", "x_max", "noise", "seed"),
    "csv": ("source",),
}
SYNTHETIC_DEFAULTS = {
    "n": 29, "slope": 2.0, "intercept": 30.0, "x_min": 1.0, "x_max": 100.0, "noise": 0.0,
    "seed": 0,
}
_INVALID_SHEET_NAME = re.compile(r"[\[\]:*?/\\'.\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DataSpec:
    """The source of the (x, y) points: `kind` is lesson, synthetic or csv."""

    kind: str
    options: dict[str, Any]
    path: Path | None = None


@dataclass(frozen=True)
class SheetSpec:
    """One training sheet: a model, an optimizer and the starting value of every knob.

    `knobs` maps each knob's defined name (`lr`, `h`, `beta`, `init_a`, `init_m_a`, ...) to
    its value, in the order the sheet shows them.
    """

    name: str
    model: str
    optimizer: str
    flavor: str
    epochs: int
    knobs: dict[str, float]


@dataclass(frozen=True)
class Template:
    """A parsed and checked template."""

    path: Path
    name: str
    title: str
    data: DataSpec
    sheets: tuple[SheetSpec, ...]


def load_template(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Template:
    """Read the template at `path`, apply `KEY=VALUE` overrides and check it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: template not found.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the template ({error}).") from None

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: invalid TOML: {error}.") from None

    where = str(path)
    _check_keys(raw, ("title", "data", "sheet"), where)
    sheets_raw = raw.get("sheet")
    if not isinstance(sheets_raw, list) or not sheets_raw:
        raise InputError(f"{where}: no [[sheet]] table; a template needs at least one.")
    for override in overrides:
        _apply_override(sheets_raw, raw, override, where)

    title = raw.get("title", path.stem)
    if not isinstance(title, str):
        raise InputError(f"{where}: key 'title' must be a string.")
    data = _parse_data(raw.get("data", {"source": "lesson"}), path)
    sheets = tuple(_parse_sheet(sheet, index, where) for index, sheet in enumerate(sheets_raw))
    _check_sheet_names(sheets, where)
    return Template(path=path, name=path.stem, title=title, data=data, sheets=sheets)


def _apply_override(sheets: list, raw: dict, override: str, where: str) -> None:
    key, separator, text = override.partition("=")
    key = key.strip()
    if not separator or not key:
        raise InputError(f"--set {override!r}: expected KEY=VALUE, for example lr=0.001.")
    value = _parse_value(text.strip())
    parts = key.split(".")

    if parts[0] == "data":
        if len(parts) != 2:
            raise InputError(f"--set {key}: expected data.KEY, for example data.seed=3.")
        data = raw.setdefault("data", {})
        if not isinstance(data, dict):
            raise InputError(f"{where}: [data] must be a table.")
        data[parts[1]] = value
        return

    names = [sheet.get("name") for sheet in sheets if isinstance(sheet, dict)]
    one_sheet = parts[0] in names and len(parts) > 1
    if one_sheet:
        targets = [sheet for sheet in sheets if sheet.get("name") == parts[0]]
        parts = parts[1:]
    else:
        targets = [sheet for sheet in sheets if isinstance(sheet, dict)]
    if parts[0] == "name":
        raise InputError(f"--set {key}: sheet names cannot be overridden.")
    if parts[0] not in SHEET_KEYS:
        accepted = ", ".join(k for k in SHEET_KEYS if k != "name")
        raise InputError(
            f"--set {key}: unknown key {parts[0]!r}; accepted: {accepted}, "
            f"optionally after a sheet name ({', '.join(map(str, names))}) and a dot."
        )

    # A setting of an optimizer that is set for every sheet goes to the sheets whose
    # optimizer has it: beta, beta1, beta2, eps, state.m, state.v.
    setting = parts[1] if parts[0] == "state" and len(parts) > 1 else parts[0]
    if setting in ("beta", "beta1", "beta2", "eps", "m", "v") and not one_sheet:
        targets = [sheet for sheet in targets if setting in _settings_of(sheet)]
        if not targets:
            raise InputError(f"--set {key}: no sheet of {where} has an optimizer with {setting}.")
    for sheet in targets:
        _set_path(sheet, parts, value, key)
        if parts == ["optimizer"]:
            _drop_settings_of_other_optimizers(sheet)


def _settings_of(sheet: dict) -> tuple[str, ...]:
    optimizer = OPTIMIZERS.get(sheet.get("optimizer", "sgd"))
    return optimizer.hyperparameters + optimizer.state_variables if optimizer else ()


def _drop_settings_of_other_optimizers(sheet: dict) -> None:
    # After --set optimizer=..., the template's beta or state.m of the old optimizer would
    # only be reported as invalid; the user asked for the new optimizer's defaults.
    settings = _settings_of(sheet)
    for key in ("beta", "beta1", "beta2", "eps"):
        if key not in settings:
            sheet.pop(key, None)
    state = sheet.get("state")
    if isinstance(state, dict):
        for variable in list(state):
            if variable not in settings:
                del state[variable]


def _set_path(table: dict, parts: list[str], value: Any, key: str) -> None:
    for part in parts[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise InputError(f"--set {key}: {part!r} is not a table.")
    table[parts[-1]] = value


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as two_neuron or sgd


def _parse_data(raw: Any, template_path: Path) -> DataSpec:
    where = f"{template_path}, [data]"
    if not isinstance(raw, dict):
        raise InputError(f"{template_path}: [data] must be a table.")
    source = raw.get("source", "lesson")
    if not isinstance(source, str) or not source:
        raise InputError(f"{where}: key 'source' must be \"lesson\", \"synthetic\" or a CSV path.")
    if source.lower() in ("lesson", "synthetic") and source not in ("lesson", "synthetic"):
        raise InputError(f"{where}: key 'source' is {source!r}; write {source.lower()!r}.")

    kind = source if source in ("lesson", "synthetic") else "csv"
    for key in raw:
        if key in SYNTHETIC_DEFAULTS and kind != "synthetic":
            raise InputError(
                f"{where}: key {key!r} applies only to source = \"synthetic\", "
                f"and the source is {source!r}."
            )
    _check_keys(raw, DATA_KEYS[kind], where)
    if kind == "lesson":
        return DataSpec("lesson", {})
    if kind == "csv":
        path = Path(source)
        if not path.is_absolute():
            path = template_path.parent / path
        return DataSpec("csv", {}, path)

    options: dict[str, Any] = dict(SYNTHETIC_DEFAULTS)
    for key in ("slope", "intercept", "x_min", "x_max", "noise"):
        if key in raw:
            options[key] = _number(raw[key], f"{where}: key {key!r}")
    for key, low, high in (("n", 2, MAX_STEP_ROWS), ("seed", 0, 2**64 - 1)):
        value = raw.get(key, options[key])
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(
                f"{where}: key {key!r} must be a whole number from {low} to {high}, got {value!r}."
            )
        options[key] = value
    if options["x_min"] >= options["x_max"]:
        raise InputError(f"{where}: key 'x_min' must be smaller than 'x_max'.")
    if options["noise"] < 0:
        raise InputError(f"{where}: key 'noise' must be ≥ 0 (the noise's standard deviation).")
    return DataSpec("synthetic", options)


def _parse_sheet(raw: Any, index: int, where: str) -> SheetSpec:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: [[sheet]] number {index + 1} must be a table.")
    name = raw.get("name")
    if not isinstance(name, str):
        raise InputError(f"{where}: [[sheet]] number {index + 1} needs a key 'name' (a string).")
    if not name.strip():
        raise InputError(f"{where}: [[sheet]] number {index + 1}: key 'name' is empty.")
    at = f"{where}, sheet {name!r}"
    _check_keys(raw, SHEET_KEYS, at)

    model_name = _choice(raw.get("model", "linear"), MODELS, f"{at}: key 'model'")
    optimizer_name = _choice(raw.get("optimizer", "sgd"), OPTIMIZERS, f"{at}: key 'optimizer'")
    flavor = _choice(raw.get("flavor", "lesson"), FLAVORS, f"{at}: key 'flavor'")
    model, optimizer = MODELS[model_name], OPTIMIZERS[optimizer_name]

    epochs = raw.get("epochs", DEFAULT_EPOCHS)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"{at}: key 'epochs' must be a whole number ≥ 1, got {epochs!r}.")

    knobs = {"lr": _number(raw.get("lr", DEFAULT_LR), f"{at}: key 'lr'", positive=True)}
    knobs["h"] = _number(raw.get("h", DEFAULT_H), f"{at}: key 'h'", positive=True)
    defaults = optimizer.default_knobs(flavor)
    for key in ("beta", "beta1", "beta2", "eps"):
        if key in raw and key not in defaults:
            accepted = ", ".join(k for k, o in OPTIMIZERS.items() if key in o.hyperparameters)
            raise InputError(
                f"{at}: key {key!r} does not apply to optimizer {optimizer_name}; "
                f"it applies to {accepted}."
            )
    for key, default in defaults.items():
        value = _number(raw.get(key, default), f"{at}: key {key!r}")
        if key == "eps" and value < 0:
            raise InputError(f"{at}: key 'eps' must be ≥ 0, got {value!r}.")
        if key != "eps" and not 0 <= value <= MAX_BETA:
            raise InputError(
                f"{at}: key {key!r} must be from 0 to {MAX_BETA!r}, got {value!r}; closer to 1, "
                f"a spreadsheet rounds 1 − {key} to 0."
            )
        knobs[key] = value

    init = _weights(raw.get("init", {}), model.weights, at, "init", DEFAULT_INIT)
    knobs |= {f"init_{weight}": value for weight, value in init.items()}
    state = raw.get("state", {})
    if not isinstance(state, dict):
        raise InputError(f"{at}: key 'state' must be a table such as {{ m = {{ a = 0.0 }} }}.")
    for variable in state:
        if variable not in optimizer.state_variables:
            accepted = ", ".join(optimizer.state_variables) or "none"
            raise InputError(
                f"{at}: key 'state.{variable}' is not a state variable of optimizer "
                f"{optimizer_name} (it has: {accepted})."
            )
    for variable in optimizer.state_variables:
        start = _weights(
            state.get(variable, {}), model.weights, at, f"state.{variable}",
            optimizer.default_state(flavor, variable),
        )
        if variable == "v" and any(value < 0 for value in start.values()):
            raise InputError(f"{at}: key 'state.v' must hold values ≥ 0 (v averages squares).")
        knobs |= {f"init_{variable}_{weight}": value for weight, value in start.items()}

    return SheetSpec(name, model_name, optimizer_name, flavor, epochs, knobs)


def _check_sheet_names(sheets: tuple[SheetSpec, ...], where: str) -> None:
    seen: set[str] = set()
    for sheet in sheets:
        folded = sheet.name.casefold()
        if len(sheet.name) > 31 or _INVALID_SHEET_NAME.search(sheet.name):
            raise InputError(
                f"{where}: sheet name {sheet.name!r} is invalid; use at most 31 characters "
                "and none of [ ] : * ? / \\ ' . or control characters."
            )
        if sheet.name != sheet.name.strip():
            raise InputError(f"{where}: sheet name {sheet.name!r} starts or ends with a space.")
        if folded in RESERVED_SHEET_NAMES:
            raise InputError(
                f"{where}: sheet name {sheet.name!r} is reserved (About, data, History)."
            )
        if folded in SHEET_KEYS:
            raise InputError(
                f"{where}: sheet name {sheet.name!r} is also a key, so --set could not tell "
                "them apart; choose another name."
            )
        if folded in seen:
            raise InputError(f"{where}: two sheets are named {sheet.name!r}; names must differ.")
        seen.add(folded)


def _weights(
    raw: Any, weights: tuple[str, ...], where: str, key: str, default: float
) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: key {key!r} must be a table such as {{ a = 1.0, b = 1.0 }}.")
    for weight in raw:
        if weight not in weights:
            raise InputError(
                f"{where}: key {key!r}: unknown weight {weight!r}; this model has "
                f"{', '.join(weights)}."
            )
    return {
        weight: _number(raw.get(weight, default), f"{where}: key '{key}.{weight}'")
        for weight in weights
    }


def _choice(value: Any, choices: dict | tuple, where: str) -> str:
    if value not in choices:
        raise InputError(f"{where} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _number(value: Any, where: str, positive: bool = False) -> float:
    beyond_float = isinstance(value, int) and abs(value) > 2**1023
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or beyond_float
        or not math.isfinite(value)
    ):
        text = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InputError(f"{where} must be a finite number, got {text}.")
    if positive and value <= 0:
        raise InputError(f"{where} must be > 0, got {value!r}.")
    return float(value)


def _check_keys(raw: dict, accepted: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in accepted:
            raise InputError(
                f"{where}: unknown key {key!r}; accepted keys: {', '.join(accepted)}."
            )
