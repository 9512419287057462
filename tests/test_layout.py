"""The package's structure: subpackages by concept under a top that holds only the package's
``__init__`` and the command line; no two modules import each other (lazy imports
included); no package imports from a layer below its own, the layers being
docs/design.md's (*Layers*), read from that page: its sections name the packages of each
layer and their modules; and the packages' import-time imports form no cycle."""
import ast
import re
from pathlib import Path

import playbook_kit

ROOT = Path(playbook_kit.__file__).parent
DESIGN = ROOT.parent / "docs" / "design.md"

FROM_BELOW = {
    ("workload", "search"): "Workload.from_hypermodel builds the hypermodel's SearchSpace",
    ("search", "results"): "run_spec reads a warm-start study's observations",
}
"""The imports of a layer below the importer's, each inside a function, as docs/design.md's
*Which way imports go* names them: (the importing unit, the imported unit) and why."""


def modules() -> dict[str, Path]:
    """Every ``playbook_kit`` module by its dotted name (a package by its ``__init__``)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_imports(top_level_only: bool = False) -> dict[str, set[str]]:
    """Every ``playbook_kit`` module and the package modules it imports anywhere (with
    ``top_level_only``: in its module body, where an import runs when it is imported).
    ``from . import rules`` imports the module ``rules``, not the package, and
    ``from . import __version__`` reads the version the package's ``__init__`` holds
    (the one place, which pyproject.toml reads too), not its exports."""
    known = modules()
    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        nodes = tree.body if top_level_only else ast.walk(tree)
        found = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                    if node.level else []
                target = ".".join(base + [node.module] if node.module else base)
                if node.module:
                    found.add(target)
                for alias in node.names:
                    named = f"{target}.{alias.name}"
                    found.add(named if node.module or named in known
                              or alias.name == "__version__" else target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m in known and m != name}
    return graph


def unit(module: str) -> str:
    """What a layer holds: a subpackage (``search``) or one of the two top-level modules
    (``cli``, and the package's ``__init__`` as ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def design_layers() -> list[tuple[str, set[str]]]:
    """docs/design.md's layers in order, each with the units its section names: a
    backticked ``name/`` is a subpackage, ``name.py`` a module of a subpackage the section
    names (or a top-level module)."""
    text = DESIGN.read_text()
    part = text.split("\n## Layers\n", 1)[1].split("\n### Which way imports go\n", 1)[0]
    pieces = re.split(r"^### (.+)$", part, flags=re.M)[1:]
    layers = []
    for title, body in zip(pieces[::2], pieces[1::2]):
        named = re.findall(r"`([A-Za-z_]\w*)(\.py|/)`", body)
        packages = {n for n, kind in named
                    if kind == "/" and (ROOT / n / "__init__.py").exists()}
        units = set(packages)
        for name, kind in named:
            if kind == "/":
                assert (ROOT / name).is_dir(), f"{title}: no folder playbook_kit/{name}/"
            elif (ROOT / f"{name}.py").exists():
                units.add(name)
            else:
                assert any((ROOT / p / f"{name}.py").exists() for p in packages), \
                    f"{title}: no module {name}.py in playbook_kit/ or {sorted(packages)}"
        layers.append((title, units))
    return layers


def test_the_top_holds_the_package_init_and_the_command_line_only():
    """docs/design.md, *Layers*: every module lives in the subpackage of its concept."""
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["__init__.py", "cli.py"]
    assert all((p / "__init__.py").exists() for p in ROOT.iterdir()
               if p.is_dir() and any(p.glob("*.py")))


def test_no_two_modules_import_each_other():
    graph = module_imports()
    assert graph["playbook_kit.search.oracles"] >= {"playbook_kit.search.bayesian",
                                                    "playbook_kit.search.oracle_base"}
    mutual = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a]
                     if a in graph[b]})
    assert mutual == []


def test_every_module_and_package_has_one_layer_in_the_design():
    layers = design_layers()
    assert [title for title, _ in layers] == [
        "Core", "Workload parts", "Training", "Store", "Search", "Results",
        "Insight and decisions", "Recipes", "Front ends"]
    placed = [u for _, units in layers for u in units]
    assert sorted(u for u in set(placed) if placed.count(u) > 1) == []
    assert sorted({unit(m) for m in modules()} - set(placed)) == [], \
        "name each module or subpackage in its layer's section of docs/design.md"


def test_no_package_imports_from_a_layer_below_its_own():
    """A package uses its own layer and the layers above it in docs/design.md's list, never
    one below; the two imports that do are named in FROM_BELOW (by package), run only
    inside a function, and still exist."""
    layer = {u: i for i, (_, units) in enumerate(design_layers()) for u in units}
    graph, top_level = module_imports(), module_imports(top_level_only=True)
    downward, seen = [], set()
    for a in sorted(graph):
        for b in sorted(graph[a]):
            pair = (unit(a), unit(b))
            if layer[pair[1]] <= layer[pair[0]]:
                continue
            if pair in FROM_BELOW and b not in top_level[a]:
                seen.add(pair)
                continue
            downward.append(f"{a} imports {b}")
    assert downward == []
    assert seen == set(FROM_BELOW), "FROM_BELOW names an import that no longer exists"


def test_the_packages_import_time_imports_form_no_cycle():
    """docs/design.md, *Which way imports go*: a subpackage's ``__init__`` imports its
    modules, so a cycle of packages through imports that run on import (module bodies,
    not functions) could meet a package half initialised. Within a layer, the imports
    that go both ways (``core/`` and ``reporting/``, ``insight/`` and ``decisions/``)
    run inside functions."""
    packages: dict[str, set[str]] = {}
    for a, imported in module_imports(top_level_only=True).items():
        packages.setdefault(unit(a), set()).update(
            unit(b) for b in imported if unit(b) != unit(a))
    done: list[str] = []
    while len(done) < len(packages):
        free = sorted(p for p in packages if p not in done and packages[p] <= {*done})
        assert free, f"a cycle among {sorted(set(packages) - set(done))}"
        done += free


def test_keras_tuners_private_names_are_reached_in_one_module():
    """docs/design.md, *Decisions already taken*: keras-tuner's private modules
    (``keras_tuner.src``) are imported in ``search/_keras_tuner.py`` only, so that a
    keras-tuner release that moves them breaks one file."""
    private = set()
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(t == "keras_tuner.src" or t.startswith("keras_tuner.src.") for t in targets):
                private.add(name)
    assert private == {"playbook_kit.search._keras_tuner"}


def test_training_and_the_core_keep_to_themselves():
    """docs/design.md, *Layers*: *Training* writes checkpoints without the *Store*, and
    both engines finish a trial through the one trial record; the one atomic write and
    the rules sit in *Core* modules that import nothing from the package but the error
    template."""
    graph = module_imports()
    training = ("trainer", "trial_record", "fit_engine", "engines", "programs",
                "keras_steps")
    for module in training:
        assert "playbook_kit.studies.store" not in graph[f"playbook_kit.training.{module}"], module
    assert "playbook_kit.core.files" in graph["playbook_kit.training.trial_record"]
    assert "playbook_kit.training.trial_record" in graph["playbook_kit.training.trainer"]
    assert "playbook_kit.training.trial_record" in graph["playbook_kit.training.fit_engine"]
    assert graph["playbook_kit.core.files"] == set()
    assert graph["playbook_kit.core.rules"] == {"playbook_kit.core.validation"}
    assert graph["playbook_kit.core.validation"] == set()


def test_the_imports_editors_follow_are_the_exports():
    """The package's ``__init__`` imports every exported name under ``TYPE_CHECKING``
    (editors follow ``pk.<name>`` to its source), from the module ``_EXPORTS`` loads it
    from at run time, and nothing else."""
    tree = ast.parse((ROOT / "__init__.py").read_text())
    (block,) = [node for node in tree.body if isinstance(node, ast.If)
                and getattr(node.test, "id", None) == "TYPE_CHECKING"]
    imported = {alias.name: node.module for node in block.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert all(isinstance(node, ast.ImportFrom) and node.level == 1 for node in block.body)
    assert imported == playbook_kit._EXPORTS


def test_every_is_not_allowed_goes_through_the_one_template():
    """docs/design.md, *Core*: one error template, ``not_allowed`` in
    ``core/validation.py``, writes every "<field>=<value> is not allowed; <what is
    allowed>"; no other module writes "is not allowed" by hand in a string (docstrings,
    and bare strings that document an attribute, may describe such an error)."""
    by_hand = []
    for name, path in modules().items():
        if name == "playbook_kit.core.validation":
            continue
        tree = ast.parse(path.read_text())
        documentation = {id(node.value) for node in ast.walk(tree)
                         if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                         and isinstance(node.value.value, str)}
        f_string_parts = {id(part) for node in ast.walk(tree)
                          if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(part.value if isinstance(part, ast.Constant) else "{}"
                               for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in documentation | f_string_parts:
                text = node.value
            else:
                continue
            if "is not allowed" in text:
                by_hand.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert by_hand == [], by_hand
