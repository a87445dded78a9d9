"""Terms: a spreadsheet formula's text and the value a spreadsheet computes for it, built together.

The simulator and the workbook writer run the same Python arithmetic over `Term`s. Each
operator extends the formula text and computes the float64 value the way LibreOffice Calc
computes it, so the formulas and the simulator share one order of operations by construction.
A value is a NumPy array with one entry per configuration of a batch. NaN stands for an error
cell, and its payload names the error (`error_name`): every operation turns an infinite result
into #NUM! and a division by zero into #DIV/0!, as Calc does, and NumPy arithmetic passes the
payload on to every dependent value, as Calc passes the error on to every dependent cell.

Squares are written as products (`e*e`): `e^2` goes through the C library's pow(), which
differs from the exact product in the last bit for about one value in a thousand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Binding strength of the outermost operator of a term's text; a higher number binds tighter.
COMPARISON, SUM, PRODUCT, POWER, ATOM = range(5)

_EPSILON_48 = 2.0**-48
_MAX_EXACT_INTEGER = 2.0**53 - 1

# Error values: quiet NaNs whose payload (the low bits) names the spreadsheet error.
_ERROR_NAMES = {0: "#NUM!", 1: "#DIV/0!", 2: "#VALUE!"}
_PAYLOAD_MASK = np.uint64(0x0007FFFFFFFFFFFF)


def _error(payload: int) -> np.float64:
    return np.array([0x7FF8000000000000 | payload], dtype=np.uint64).view(np.float64)[0]


NUM_ERROR, DIV0_ERROR, VALUE_ERROR = _error(0), _error(1), _error(2)


def error_name(value: float) -> str:
    """Return the spreadsheet error that the NaN `value` stands for, such as "#DIV/0!"."""
    payload = int(np.array([value], dtype=np.float64).view(np.uint64)[0] & _PAYLOAD_MASK)
    return _ERROR_NAMES.get(payload, "#NUM!")


@dataclass(frozen=True, eq=False)
class Term:
    """A formula fragment (`text`, no leading '=') and its value over a batch.

    `constant` marks a plain number, which a sheet stores as a number rather than a formula.
    `referenced` marks the values that are read from a cell or a name as they are, rather
    than computed in the formula, which matters for which of two errors Calc shows.
    """

    text: str
    value: np.ndarray
    binding: int = ATOM
    constant: bool = False
    referenced: np.ndarray | bool = False

    def __add__(self, other: Term | float) -> Term:
        right = as_term(other)
        return _binary(self, right, "+", SUM, approx_add(self.value, right.value))

    def __radd__(self, other: float) -> Term:
        return as_term(other) + self

    def __sub__(self, other: Term | float) -> Term:
        right = as_term(other)
        return _binary(self, right, "-", SUM, approx_sub(self.value, right.value))

    def __rsub__(self, other: float) -> Term:
        return as_term(other) - self

    def __mul__(self, other: Term | float) -> Term:
        right = as_term(other)
        with np.errstate(all="ignore"):
            value = self.value * right.value
        return _binary(self, right, "*", PRODUCT, value)

    def __rmul__(self, other: float) -> Term:
        return as_term(other) * self

    def __truediv__(self, other: Term | float) -> Term:
        right = as_term(other)
        with np.errstate(all="ignore"):
            value = self.value / right.value
        by_zero = (right.value == 0.0) & ~np.isnan(self.value)
        value = np.where(by_zero, DIV0_ERROR, value)
        return _binary(self, right, "/", PRODUCT, value)

    def __rtruediv__(self, other: float) -> Term:
        return as_term(other) / self

    def __gt__(self, other: Term | float) -> Term:  # type: ignore[override]
        right = as_term(other)
        greater = (self.value > right.value) & ~approx_equal(self.value, right.value)
        value = np.where(np.isnan(right.value), right.value, greater)
        value = np.where(np.isnan(self.value), self.value, value)
        return _binary(self, right, ">", COMPARISON, value)


def literal(number: float) -> Term:
    """Return a number written into a formula or a cell as it is, such as the 2 of `2*err`."""
    number = stored_number(number)
    text = format_number(number)
    return Term(text, np.float64(number), ATOM if number >= 0 else SUM, constant=True)


def stored_number(number: float) -> float:
    """Return `number` as a workbook stores it: XlsxWriter writes 16 significant digits.

    A double needs up to 17 digits, so the simulator computes from this rounded value,
    the one a spreadsheet reads back from the file.
    """
    return float(f"{number:.16G}")


def reference(text: str, value: np.ndarray | float) -> Term:
    """Return a term that refers to a cell, a range or a defined name (`F13`, `lr`)."""
    return Term(text, np.asarray(value, dtype=np.float64), referenced=True)


def as_term(value: Term | float) -> Term:
    """Return `value` itself if it is a term, else the number as a literal."""
    return value if isinstance(value, Term) else literal(float(value))


def format_number(number: float) -> str:
    """Format a number the way a formula spells it: `2`, `0.0001`, `1E-08`."""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(float(number)).upper()


def sqrt(term: Term) -> Term:
    """Return SQRT(term); a negative argument is the error #VALUE!, as in Calc."""
    with np.errstate(all="ignore"):
        value = np.where(term.value < 0.0, VALUE_ERROR, np.sqrt(term.value))
    return Term(f"SQRT({term.text})", _errors_as_nan(value))


def relu(term: Term) -> Term:
    """Return MAX(term,0)."""
    value = np.where(np.isnan(term.value), term.value, np.maximum(term.value, 0.0))
    return Term(f"MAX({term.text},0)", value)


def power(base: Term, exponent: Term | float) -> Term:
    """Return base^exponent, computed with the C library's pow() as Calc does."""
    exponent = as_term(exponent)
    base_values, exponent_values = np.broadcast_arrays(base.value, exponent.value)
    value = np.array(
        [_libm_pow(b, e) for b, e in zip(base_values.ravel(), exponent_values.ravel(), strict=True)]
    ).reshape(base_values.shape)
    return _binary(base, exponent, "^", POWER, value)


def choose(condition: Term, if_true: Term | float, if_false: Term | float) -> Term:
    """Return IF(condition,if_true,if_false); an error in the branch not taken does not spread."""
    if_true, if_false = as_term(if_true), as_term(if_false)
    picked = np.where(condition.value == 1.0, if_true.value, if_false.value)
    value = np.where(np.isnan(condition.value), condition.value, picked)
    # IF passes a branch that is a plain reference on as a reference.
    referenced = np.where(
        condition.value == 1.0, if_true.referenced, if_false.referenced
    ) & ~np.isnan(condition.value)
    text = f"IF({condition.text},{if_true.text},{if_false.text})"
    return Term(text, value, referenced=referenced)


def total(range_text: str, terms: Sequence[Term]) -> Term:
    """Return SUM(range) over the cells that `terms` refer to."""
    values = np.stack(np.broadcast_arrays(*(term.value for term in terms)))
    # Calc sums a range with a compensated (Kahan-Babuska) sum, which math.fsum matches.
    value = np.array([_exact_sum(column) for column in values.T])
    return Term(f"SUM({range_text})", _first_error_or(values, _errors_as_nan(value)))


def smallest(range_text: str, terms: Sequence[Term]) -> Term:
    """Return MIN(range) over the cells that `terms` refer to; an error cell makes it an error."""
    values = np.stack(np.broadcast_arrays(*(term.value for term in terms)))
    return Term(f"MIN({range_text})", _first_error_or(values, np.min(values, axis=0)))


def largest(range_text: str, terms: Sequence[Term]) -> Term:
    """Return MAX(range) over the cells that `terms` refer to; an error cell makes it an error."""
    values = np.stack(np.broadcast_arrays(*(term.value for term in terms)))
    return Term(f"MAX({range_text})", _first_error_or(values, np.max(values, axis=0)))


def approx_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return where Calc treats `a` and `b` as equal: within 2^-48 of both, unless integers.

    This is `rtl::math::approxEqual` of LibreOffice (sal/rtl/math.cxx), which Calc uses for
    comparisons and in `approx_add` and `approx_sub`.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        difference = np.abs(a - b)
        magnitude_a, magnitude_b = np.abs(a), np.abs(b)
        close = difference < magnitude_a * _EPSILON_48
        close &= difference < magnitude_b * _EPSILON_48
    close &= (a != 0.0) & (b != 0.0) & np.isfinite(difference)
    integers = _is_exact_integer(difference) & _is_exact_integer(magnitude_a)
    integers &= _is_exact_integer(magnitude_b)
    return (a == b) | (close & ~integers)


def approx_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a + b as Calc adds: opposite numbers equal to 48 bits sum to exactly 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        value = a + b
    opposite = ((a < 0.0) & (b > 0.0)) | ((a > 0.0) & (b < 0.0))
    return _errors_as_nan(np.where(opposite & approx_equal(a, -b), 0.0, value))


def approx_sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a - b as Calc subtracts: numbers of one sign equal to 48 bits give exactly 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        value = a - b
    same_sign = ((a < 0.0) & (b < 0.0)) | ((a > 0.0) & (b > 0.0))
    return _errors_as_nan(np.where(same_sign & approx_equal(a, b), 0.0, value))


def _binary(left: Term, right: Term, symbol: str, binding: int, value: np.ndarray) -> Term:
    # Floating-point arithmetic is not associative, so the right operand keeps its brackets
    # even for the same operator: a-(b-c) and a*(b*c) must not be rewritten as a-b-c, a*b*c.
    left_text = left.text if left.binding >= binding else f"({left.text})"
    right_text = right.text if right.binding > binding else f"({right.text})"

    # Of two errors, NumPy keeps the left one's payload. Calc (7.4, tried) does too, except
    # that an error computed in the formula wins over one read from a cell or a name.
    both = np.isnan(left.value) & np.isnan(right.value)
    right_wins = both & np.asarray(left.referenced) & ~np.asarray(right.referenced)
    value = np.where(right_wins, right.value, value)
    return Term(f"{left_text}{symbol}{right_text}", _errors_as_nan(value), binding)


def _errors_as_nan(value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    return np.where(np.isinf(value), NUM_ERROR, value)


def _is_exact_integer(value: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return (value <= _MAX_EXACT_INTEGER) & (np.floor(value) == value)


def _first_error_or(values: np.ndarray, result: np.ndarray) -> np.ndarray:
    # Over a range, Calc returns the first error cell's error.
    columns = values.reshape(values.shape[0], -1)
    first = np.argmax(np.isnan(columns), axis=0)
    first_error = columns[first, np.arange(columns.shape[1])].reshape(values.shape[1:])
    return np.where(np.isnan(values).any(axis=0), first_error, result)


def _exact_sum(values: np.ndarray) -> float:
    try:
        return math.fsum(values)
    except OverflowError:
        return math.nan


def _libm_pow(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except (OverflowError, ValueError):
        return math.nan
