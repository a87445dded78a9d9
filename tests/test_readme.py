"""The README's set-up commands: exactly two, and CI runs the test command as written."""

from __future__ import annotations

import re

from conftest import ROOT


def setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_two_setup_commands() -> None:
    commands = setup_commands()

    assert len(commands) == 2
    assert "sheetgen build" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()

    assert setup_commands()[1] in ci_lines
