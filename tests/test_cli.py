"""The command line as a user runs it: build, simulate, help, and bad input."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, write_template
from sheetgen.cli import DESCRIPTION, main
from sheetgen.template import load_template


@pytest.fixture
def project(tmp_path, monkeypatch) -> Iterator[Path]:
    """A copy of the shipped templates in a fresh folder, which becomes the working folder."""
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    umask = os.umask(0o022)
    yield tmp_path
    os.umask(umask)


def test_build_without_arguments_writes_every_template(project, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sheetgen")

    assert main(["build"]) == 0

    written = sorted(path.name for path in (project / "output").glob("*.xlsx"))
    expected = sorted(f"{path.stem}.xlsx" for path in (project / "templates").glob("*.toml"))
    assert written == expected
    assert "graddesc.xlsx" in written
    assert "two_neuron.xlsx" in written
    assert "wrote output/graddesc.xlsx: 7 sheets, 1015 step rows" in caplog.text


def test_build_with_output_folder_and_set(project) -> None:
    status = main(["build", "templates/two_neuron.toml", "-o", "out", "--set", "epochs=1"])

    assert status == 0
    assert (project / "out" / "two_neuron.xlsx").is_file()
    assert (project / "out" / "two_neuron.xlsx").stat().st_mode & 0o044 == 0o044  # umask 022
    assert not (project / "output").exists()


def test_bad_template_leaves_existing_output_untouched(project, capsys) -> None:
    assert main(["build", "templates/graddesc.toml"]) == 0
    workbook = project / "output" / "graddesc.xlsx"
    before = workbook.read_bytes()
    bad = write_template(project / "templates", "[[sheet]]\nname = \"x\"\nlr = -1\n", "bad.toml")

    status = main(["build", "templates/graddesc.toml", str(bad)])

    assert status == 2
    assert workbook.read_bytes() == before
    error = capsys.readouterr().err
    assert error.startswith("sheetgen: error: ")
    assert "bad.toml, sheet 'x': key 'lr'" in error
    assert "Traceback" not in error
    assert not (project / "output" / "bad.xlsx").exists()
    assert [path.name for path in (project / "output").iterdir()] == ["graddesc.xlsx"]


def test_output_that_is_a_file_exits_2(project, capsys) -> None:
    (project / "taken").write_text("not a folder")

    assert main(["build", "templates/graddesc.toml", "-o", "taken"]) == 2
    assert "-o taken: not a folder" in capsys.readouterr().err


def test_output_name_taken_by_folder_exits_2(project, capsys) -> None:
    (project / "output" / "graddesc.xlsx").mkdir(parents=True)

    assert main(["build", "templates/graddesc.toml"]) == 2
    assert "graddesc.xlsx: cannot replace the workbook" in capsys.readouterr().err
    assert [path.name for path in (project / "output").iterdir()] == ["graddesc.xlsx"]


def test_same_output_twice_exits_2(project, capsys) -> None:
    (project / "other").mkdir()
    shutil.copy(project / "templates" / "graddesc.toml", project / "other" / "graddesc.toml")

    assert main(["build", "templates/graddesc.toml", "other/graddesc.toml"]) == 2
    assert "would both be written to output/graddesc.xlsx" in capsys.readouterr().err
    assert not (project / "output").exists()


def test_too_many_rows_names_template(project, capsys) -> None:
    assert main(["simulate", "templates/graddesc.toml", "--set", "epochs=5000"]) == 2
    assert "templates/graddesc.toml, sheet 'basic': 5000 epochs" in capsys.readouterr().err


def test_bad_set_exits_2(project, capsys) -> None:
    assert main(["simulate", "templates/graddesc.toml", "--set", "lr=-3"]) == 2
    assert "key 'lr' must be > 0" in capsys.readouterr().err


def test_missing_templates_folder_exits_2(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["build"]) == 2
    assert "no templates/*.toml" in capsys.readouterr().err


def test_bad_csv_names_the_line(project, capsys) -> None:
    (project / "points.csv").write_text("x,y\n1,2\n3,oops\n")
    template = write_template(
        project, '[data]\nsource = "points.csv"\n[[sheet]]\nname = "s"\n', "csv.toml"
    )

    assert main(["simulate", str(template)]) == 2
    assert "points.csv, line 3: expected numbers in columns x and y" in capsys.readouterr().err


def test_simulate_prints_epoch_table(project, capsys) -> None:
    assert main(["simulate", "templates/two_neuron.toml", "--set", "epochs=2"]) == 0

    out = capsys.readouterr().out
    assert "sheet two_neuron: model two_neuron, optimizer sgd" in out
    assert "150.755" in out
    assert "#NUM!" in out


def test_simulate_json_contract(project, capsys) -> None:
    assert main(["simulate", "templates/graddesc.toml", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    basic, momentum = report["sheets"][0], report["sheets"][1]
    assert set(basic) >= {"name", "model", "optimizer", "epochs", "steps"}
    assert basic["epochs"][0]["sqrt_sse"] == pytest.approx(150.75521153771854, rel=1e-12)
    assert set(basic["epochs"][0]) == {"epoch", "lr", "sqrt_sse", "rmse", "params"}
    step = basic["steps"][0]
    assert {"epoch", "x", "y", "params", "pred", "sq_err", "grad", "fd_grad", "new_params"} <= set(
        step
    )
    assert step["params"] == {"a": 1.0, "b": 1.0}
    assert step["new_params"]["a"] == 1.1204
    assert "state" not in step
    assert set(momentum["steps"][0]["state"]) == {"m"}
    assert set(report["sheets"][2]["steps"][0]["state"]) == {"v"}


def test_simulate_json_null_for_overflow(project, capsys) -> None:
    assert main(["simulate", "templates/two_neuron.toml", "--json", "--set", "epochs=2"]) == 0

    two_neuron = json.loads(capsys.readouterr().out)["sheets"][1]
    assert two_neuron["epochs"][1]["sqrt_sse"] is None
    assert two_neuron["steps"][-1]["params"]["a"] is None


def test_help_teaches(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--help"])

    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--set KEY=VALUE" in text
    assert "basic.lr=0.001" in text


def test_python_m_sheetgen_runs(project) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sheetgen", "simulate", "templates/graddesc.toml"],
        capture_output=True, text=True, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "sheet basic" in result.stdout


def test_help_example_is_valid_template(tmp_path) -> None:
    example = DESCRIPTION.split("for example:\n", 1)[1].split("\n\ndocs/", 1)[0]
    path = write_template(tmp_path, textwrap.dedent(example))

    sheet = load_template(path).sheets[0]

    assert sheet.name == "basic"
    assert sheet.knobs["lr"] == 0.0001
