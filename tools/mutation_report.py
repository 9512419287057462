"""Share of mutants killed per module, from the results ``mutmut run`` left in ``mutants/``.

Usage: ``python tools/mutation_report.py [--survivors] GLOB...`` with the same mutant-name
globs that were passed to ``mutmut run`` (``make mutation`` passes MUTATION_SCOPE). A mutant
counts as killed when a test failed on it; a timeout, a survivor, a mutant no selected test
reaches and one not run yet all count against the share.
"""
import fnmatch
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          None: "not run", 24: "timeout", -24: "timeout", 36: "timeout", 152: "timeout"}


def results(globs):
    """``{mutant name: status}`` for every mutant whose name matches one of ``globs``."""
    found = {}
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in globs):
                found[name] = STATUS.get(code, "suspicious")
    return found


def module_of(name):
    return re.match(r"(.*?)\.x[_\u01c1]", name).group(1)


def main(argv):
    survivors = "--survivors" in argv
    globs = [a for a in argv if a != "--survivors"]
    found = results(globs)
    if not found:
        sys.exit(f"no mutant in mutants/ matches {globs}; run `make mutation` first")
    by_module = defaultdict(Counter)
    for name, status in found.items():
        by_module[module_of(name)][status] += 1
    total = Counter()
    print(f"{'module':40} {'killed':>7} {'mutants':>8} {'share':>6}  others")
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        _row(module, counts)
    _row("overall", total)
    if survivors:
        print("\nnot killed (inspect with `mutmut show NAME`):")
        for name, status in sorted(found.items()):
            if status != "killed":
                print(f"  {status:9} {name}")


def _row(label, counts):
    n = sum(counts.values())
    others = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "killed")
    print(f"{label:40} {counts['killed']:7d} {n:8d} {counts['killed'] / n:6.1%}  {others}")


if __name__ == "__main__":
    main(sys.argv[1:])
