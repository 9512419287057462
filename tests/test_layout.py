"""The package's structure: no two modules import each other (lazy imports included)."""
import ast
from pathlib import Path

import playbook_kit

ROOT = Path(playbook_kit.__file__).parent


def module_imports() -> dict[str, set[str]]:
    """Every ``playbook_kit`` module and the package modules it imports anywhere."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                    if node.level else []
                target = ".".join(base + [node.module] if node.module else base)
                found.update([target, *(f"{target}.{a.name}" for a in node.names)])
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_two_modules_import_each_other():
    graph = module_imports()
    assert graph["playbook_kit.search.oracles"] >= {"playbook_kit.search.bayesian",
                                                    "playbook_kit.search.oracle_base"}
    mutual = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a]
                     if a in graph[b]})
    assert mutual == []


def test_layers_import_only_from_the_layers_above():
    """docs/design.md, *Layers*: *Training* writes checkpoints without the *Store*, and
    both engines finish a trial through the one trial record; the one atomic write and
    the rules sit in *Core* modules that import nothing from the package but the error
    template."""
    graph = module_imports()
    training = ("trainer", "trial_record", "fit_engine", "engines", "programs",
                "keras_steps")
    for module in training:
        assert "playbook_kit.store" not in graph[f"playbook_kit.{module}"], module
    assert "playbook_kit.files" in graph["playbook_kit.trial_record"]
    assert "playbook_kit.trial_record" in graph["playbook_kit.trainer"]
    assert "playbook_kit.trial_record" in graph["playbook_kit.fit_engine"]
    assert graph["playbook_kit.files"] == set()
    assert graph["playbook_kit.rules"] == {"playbook_kit.validation"}
    assert graph["playbook_kit.validation"] == set()
