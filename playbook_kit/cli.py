"""The ``playbook-kit`` command line: tour, batch-run notebooks, studies and reports."""
from __future__ import annotations

import argparse
import sys

import yaml

from . import __version__


def _parse_parameter(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"parameter {text!r} must look like name=value")
    name, raw = text.split("=", 1)
    return name, yaml.safe_load(raw)


def _tour(args) -> int:
    from .notebooks import run_tour

    folder = run_tour(args.output, parameters=dict(args.parameter or []))
    print(f"executed notebooks are in {folder}")
    return 0


def _run(args) -> int:
    from pathlib import Path
    from .notebooks import run_notebook

    for notebook in args.notebooks:
        out = Path(args.output) / Path(notebook).stem
        executed = run_notebook(notebook, out, dict(args.parameter or []))
        print(f"{notebook} -> {executed}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playbook-kit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"playbook-kit {__version__}")
    commands = parser.add_subparsers(dest="command")
    tour = commands.add_parser("tour", help="execute every guided notebook with papermill")
    tour.add_argument("--output", default="runs", help="folder for runs/tour-<timestamp>/")
    tour.add_argument("-p", "--parameter", type=_parse_parameter, action="append",
                      help="name=value (YAML value) passed to every notebook that declares it")
    tour.set_defaults(handler=_tour)
    run = commands.add_parser("run", help="execute notebooks with parameters (papermill)")
    run.add_argument("notebooks", nargs="+")
    run.add_argument("--output", default="runs", help="one sub-folder per notebook")
    run.add_argument("-p", "--parameter", type=_parse_parameter, action="append",
                     help="name=value; YAML value, write floats as 1.0e-3")
    run.set_defaults(handler=_run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"playbook-kit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
