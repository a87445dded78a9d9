"""The command line: `sheetgen build` writes workbooks, `sheetgen simulate` prints their numbers."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from . import __version__
from .data import Dataset, load_dataset
from .errors import InputError
from .report import epoch_table, to_json
from .simulator import Run, check_size, simulate
from .template import Template, load_template
from .workbook import write_workbook

log = logging.getLogger("sheetgen")

DESCRIPTION = """\
Write spreadsheets that train small neural networks by gradient descent, one optimizer step
per row, live in formulas: the linear model y = a*x + b and the two-neuron models
y = c*(a*x + b) + d and y = c*max(a*x + b, 0) + d, with the optimizers sgd, momentum,
rmsprop, adam and adam_annealed. A template (TOML) describes the data and one training
sheet per [[sheet]] table, for example:

  [data]
  source = "lesson"            # or "synthetic" (n, slope, intercept, x_min, x_max,
                               # noise, seed), or the path of a CSV file with x,y columns
  [[sheet]]
  name = "basic"
  model = "linear"             # linear | two_neuron | two_neuron_relu
  optimizer = "sgd"            # sgd | momentum | rmsprop | adam | adam_annealed
  flavor = "lesson"            # lesson | pytorch (what torch.optim computes)
  lr = 0.0001                  # learning rate
  epochs = 5
  init = { a = 1.0, b = 1.0 }  # starting weights; c and d for the two-neuron models
  # also: h (finite-difference step, 0.01), beta (momentum, rmsprop), beta1, beta2 and
  # eps (adam), state = { m = { a = 0.0 }, v = { a = 0.0 } } (starting optimizer state)

docs/templates.md in the source repository explains every key and default."""

SET_HELP = """\
override a template key, for every sheet (lr=0.001) or for one sheet (basic.lr=0.001);
also epochs=3, init.a=2, state.m.a=0, model=two_neuron, data.seed=3; repeatable"""

EXAMPLES = """\
examples:
  sheetgen build                          every templates/*.toml into output/
  sheetgen build templates/graddesc.toml -o /tmp/out --set lr=0.001
  sheetgen simulate templates/two_neuron.toml --set epochs=2
  sheetgen simulate templates/graddesc.toml --json > run.json"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status: 0 done, 2 invalid input."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            return _build(args)
        return _simulate(args)
    except InputError as error:
        print(f"sheetgen: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sheetgen: interrupted; no workbook was left half-written.", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheetgen", description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sheetgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build", help="write one workbook (.xlsx) per template",
        description="Write TEMPLATE.toml to DIR/TEMPLATE.xlsx for each template; with no "
        "template, every templates/*.toml of the current folder. Templates are all checked "
        "before any workbook is written, and a workbook is replaced only once complete.",
    )
    build.add_argument("templates", nargs="*", type=Path, metavar="TEMPLATE",
                       help="template files (default: templates/*.toml)")
    build.add_argument("-o", "--output", type=Path, default=Path("output"), metavar="DIR",
                       help="folder for the workbooks (default: output)")
    build.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)

    simulate_command = commands.add_parser(
        "simulate", help="print the simulator's per-epoch errors, or every value as JSON",
        description="Run the reference simulator on a template and print, per sheet and "
        "epoch, the learning rate, the lesson's error √SSE, the RMSE and the weights.",
    )
    simulate_command.add_argument("template", type=Path, metavar="TEMPLATE", help="template file")
    simulate_command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                                  help=SET_HELP)
    simulate_command.add_argument("--json", action="store_true",
                                  help="print every step and epoch as JSON (non-finite: null)")
    return parser


def _build(args: argparse.Namespace) -> int:
    paths = args.templates or sorted(Path("templates").glob("*.toml"))
    if not paths:
        raise InputError("no template given and no templates/*.toml in the current folder.")
    if args.output.exists() and not args.output.is_dir():
        raise InputError(f"-o {args.output}: not a folder; give a folder for the workbooks.")

    # Check and simulate every template before writing anything.
    jobs = []
    targets: dict[Path, Path] = {}
    for path in paths:
        started = time.perf_counter()
        template, data, runs = _load_and_simulate(path, args.set)
        target = args.output / f"{template.name}.xlsx"
        if target in targets:
            raise InputError(
                f"{path} and {targets[target]} would both be written to {target}; "
                "build them into different folders with -o."
            )
        targets[target] = path
        jobs.append((template, data, runs, target, time.perf_counter() - started))

    for template, data, runs, target, seconds in jobs:
        started = time.perf_counter()
        summary = write_workbook(template, data, runs, target)
        seconds += time.perf_counter() - started
        log.info(
            "wrote %s: %d sheets, %d step rows, %.2f s",
            summary.path, summary.sheets, summary.step_rows, seconds,
        )
    return 0


def _simulate(args: argparse.Namespace) -> int:
    _, _, runs = _load_and_simulate(args.template, args.set)
    print(to_json(runs) if args.json else epoch_table(runs))
    return 0


def _load_and_simulate(path: Path, overrides: list[str]) -> tuple[Template, Dataset, list[Run]]:
    template = load_template(path, overrides)
    data = load_dataset(template.data)
    for sheet in template.sheets:
        check_size(sheet, data, source=str(path))
    return template, data, [simulate(sheet, data) for sheet in template.sheets]
