"""Templates: defaults, `--set` overrides, and one clear sentence for each mistake."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from conftest import TEMPLATES, write_template
from sheetgen.errors import InputError
from sheetgen.models import MODELS
from sheetgen.optimizers import OPTIMIZERS
from sheetgen.template import load_template

MINIMAL = """
[[sheet]]
name = "basic"
"""

TWO_SHEETS = """
[data]
source = "lesson"
[[sheet]]
name = "basic"
lr = 0.0001
[[sheet]]
name = "fast"
optimizer = "momentum"
model = "two_neuron"
lr = 0.001
"""


def load(tmp_path: Path, text: str, *overrides: str):
    return load_template(write_template(tmp_path, text), overrides)


def error_of(tmp_path: Path, text: str, *overrides: str) -> str:
    with pytest.raises(InputError) as caught:
        load(tmp_path, text, *overrides)
    return str(caught.value)


def test_minimal_template_gets_lesson_defaults(tmp_path) -> None:
    template = load(tmp_path, MINIMAL)
    sheet = template.sheets[0]

    assert template.data.kind == "lesson"
    assert (sheet.model, sheet.optimizer, sheet.flavor, sheet.epochs) == (
        "linear", "sgd", "lesson", 5
    )
    assert sheet.knobs == {"lr": 1e-4, "h": 0.01, "init_a": 1.0, "init_b": 1.0}


def test_optimizer_knobs_and_state_defaults(tmp_path) -> None:
    text = MINIMAL + 'optimizer = "adam"\nmodel = "two_neuron_relu"\nstate = { m = { c = 2.5 } }\n'
    knobs = load(tmp_path, text).sheets[0].knobs

    assert knobs["beta1"] == 0.9
    assert knobs["beta2"] == 0.99
    assert knobs["eps"] == 1e-8
    assert knobs["init_m_c"] == 2.5
    assert knobs["init_m_a"] == 0.0
    assert knobs["init_v_d"] == 0.0


def test_lesson_rmsprop_state_starts_at_one(tmp_path) -> None:
    knobs = load(tmp_path, MINIMAL + 'optimizer = "rmsprop"\n').sheets[0].knobs

    assert knobs["init_v_a"] == 1.0
    assert knobs["init_v_b"] == 1.0


def test_set_applies_to_every_sheet(tmp_path) -> None:
    template = load(tmp_path, TWO_SHEETS, "lr=0.5", "epochs=3", "init.a=2")

    for sheet in template.sheets:
        assert sheet.knobs["lr"] == 0.5
        assert sheet.epochs == 3
        assert sheet.knobs["init_a"] == 2.0


def test_set_applies_to_one_sheet(tmp_path) -> None:
    basic, fast = load(tmp_path, TWO_SHEETS, "fast.lr=0.5", "fast.state.m.d=1").sheets

    assert basic.knobs["lr"] == 1e-4
    assert fast.knobs["lr"] == 0.5
    assert fast.knobs["init_m_d"] == 1.0


def test_set_beta_skips_sheets_without_it(tmp_path) -> None:
    basic, fast = load(tmp_path, TWO_SHEETS, "beta=0.5").sheets

    assert "beta" not in basic.knobs
    assert fast.knobs["beta"] == 0.5


def test_set_bare_word_value(tmp_path) -> None:
    template = load(tmp_path, TWO_SHEETS, "basic.model=two_neuron_relu", "data.source=synthetic")

    assert template.sheets[0].model == "two_neuron_relu"
    assert template.data.kind == "synthetic"


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        (MINIMAL + "lr = -1\n", (), "key 'lr' must be > 0, got -1"),
        (MINIMAL + 'lr = "fast"\n', (), "key 'lr' must be a finite number, got 'fast'"),
        (MINIMAL + "epochs = 0\n", (), "key 'epochs' must be a whole number ≥ 1"),
        (MINIMAL + "epochs = 2.5\n", (), "key 'epochs' must be a whole number ≥ 1"),
        (MINIMAL + 'model = "three"\n', (), "key 'model' must be one of linear, two_neuron"),
        (MINIMAL + 'optimizer = "lbfgs"\n', (), "key 'optimizer' must be one of sgd"),
        (MINIMAL + 'flavor = "jax"\n', (), "key 'flavor' must be one of lesson, pytorch"),
        (MINIMAL + "learning_rate = 1\n", (), "unknown key 'learning_rate'"),
        (MINIMAL + "init = { a = 1, c = 2 }\n", (), "unknown weight 'c'; this model has a, b"),
        (MINIMAL + "beta = 0.9\n", (), "key 'beta' does not apply to optimizer sgd"),
        (MINIMAL + 'optimizer = "momentum"\nbeta = 1.5\n', (), "must be from 0 to 0.999999999999"),
        (MINIMAL + 'optimizer = "adam"\nbeta1 = 0.999999999999999\n', (),
         "a spreadsheet rounds 1 − beta1 to 0"),
        (MINIMAL + 'optimizer = "momentum"\nstate = { v = { a = 1 } }\n', (),
         "'state.v' is not a state variable of optimizer momentum"),
        (MINIMAL + 'optimizer = "adam"\nstate = { v = { a = -1 } }\n', (),
         "'state.v' must hold values ≥ 0"),
        (MINIMAL + "[[sheet]]\nname = \"Basic\"\n", (), "two sheets are named 'Basic'"),
        ('[[sheet]]\nname = "data"\n', (), "sheet name 'data' is reserved"),
        ('[[sheet]]\nname = "History"\n', (), "sheet name 'History' is reserved"),
        ('[[sheet]]\nname = "a\\u0001"\n', (), "or control characters"),
        ('[[sheet]]\nname = " basic"\n', (), "starts or ends with a space"),
        ('[[sheet]]\nname = ""\n', (), "key 'name' is empty"),
        ('[[sheet]]\nname = "init"\n', (), "sheet name 'init' is also a key"),
        (MINIMAL + "init = { a = 1" + "0" * 400 + " }\n", (),
         "key 'init.a' must be a finite number, got 1000"),
        (MINIMAL + 'init = { a = "1" }\n', (), "key 'init.a' must be a finite number"),
        ('[data]\nsource = "Lesson"\n' + MINIMAL, (), "key 'source' is 'Lesson'; write 'lesson'"),
        ('[data]\nsource = "synthetic"\nn = 5.5\n' + MINIMAL, (),
         "key 'n' must be a whole number from 2 to 100000, got 5.5"),
        ('[[sheet]]\nname = "a/b"\n', (), "sheet name 'a/b' is invalid"),
        ('[[sheet]]\nname = "x"\n[[sheet]]\nlr = 1\n', (), "[[sheet]] number 2 needs a key 'name'"),
        ("title = 'x'\n", (), "no [[sheet]] table"),
        ("[[sheet]\n", (), "invalid TOML"),
        ('[data]\nsource = "synthetic"\nn = 1\n' + MINIMAL, (), "key 'n' must be a whole number"),
        ('[data]\nsource = "synthetic"\nx_min = 5\nx_max = 1\n' + MINIMAL, (),
         "'x_min' must be smaller than 'x_max'"),
        ('[data]\nsource = "lesson"\nn = 5\n' + MINIMAL, (),
         "[data]: key 'n' applies only to source = \"synthetic\""),
        ('[data]\nsource = "lesson"\nnumber = 5\n' + MINIMAL, (), "[data]: unknown key 'number'"),
        (MINIMAL, ("lr",), "expected KEY=VALUE"),
        (MINIMAL, ("speed=3",), "unknown key 'speed'"),
        (MINIMAL, ("basic.lr=abc",), "key 'lr' must be a finite number, got 'abc'"),
        (MINIMAL, ("beta=0.5",), "no sheet of"),
        (MINIMAL, ("state.m.a=0",), "no sheet of"),
        (MINIMAL, ("name=x",), "sheet names cannot be overridden"),
    ],
)
def test_invalid_input_names_the_fault(tmp_path, text, overrides, expected) -> None:
    message = error_of(tmp_path, text, *overrides)

    assert expected in message
    assert message.count("\n") == 0


def test_error_names_file_and_sheet(tmp_path) -> None:
    message = error_of(tmp_path, MINIMAL + "lr = 0\n")

    assert message.startswith(f"{tmp_path / 't.toml'}, sheet 'basic': ")


def test_missing_template_is_reported(tmp_path) -> None:
    with pytest.raises(InputError, match="template not found"):
        load_template(tmp_path / "nothing.toml")


def test_shipped_templates_cover_every_pair() -> None:
    pairs = {
        (sheet.model, sheet.optimizer)
        for path in TEMPLATES
        for sheet in load_template(path).sheets
    }

    assert pairs == set(itertools.product(MODELS, OPTIMIZERS))


def test_set_state_skips_sheets_without_it(tmp_path) -> None:
    basic, fast = load(tmp_path, TWO_SHEETS, "state.m.a=0.5").sheets

    assert "init_m_a" not in basic.knobs
    assert fast.knobs["init_m_a"] == 0.5


def test_set_optimizer_drops_old_settings(tmp_path) -> None:
    text = TWO_SHEETS + "beta = 0.8\nstate = { m = { a = 2.0 } }\n"

    basic, fast = load(tmp_path, text, "optimizer=adam").sheets

    assert basic.optimizer == "adam"
    assert fast.optimizer == "adam"
    assert fast.knobs["init_m_a"] == 2.0  # adam has m too
    assert "beta" not in fast.knobs


def test_template_with_byte_order_mark(tmp_path) -> None:
    path = tmp_path / "bom.toml"
    path.write_text("\ufeff" + MINIMAL, encoding="utf-8")

    assert load_template(path).sheets[0].name == "basic"
