"""Sphinx extension for playbook-kit's documentation site (``docs/conf.py`` loads it).

* **The API reference comes from the package's exported names** (``playbook_kit._EXPORTS``):
  ``reference/index.rst`` lists them by the module that defines them, and autosummary gives
  each its page, documented as ``playbook_kit.<name>``. Moving a name to another module (the
  layout issue) changes a section heading here, nothing else.
* **Every exported name says how to call it**: its docstring gives its arguments (each
  parameter of its signature), what it returns, what it raises and an example
  (:func:`docstring_problems`); a gap is a build warning naming the object, an error under
  ``-W``. ``tests/test_docs.py`` runs the same check without building.
* **References by module path resolve to the exported page**: a docstring may write
  ``:func:`playbook_kit.insight.boundary_check``` or ``:func:`boundary_check```; both link to
  ``playbook_kit.boundary_check`` when that is the same object. References into other
  libraries (pandas, Keras, the standard library) have no target without intersphinx, which
  would need the network: they are left as text. Any other reference that does not resolve
  stays a warning, with the file and line.
* **The guided notebooks are rendered from a tour's executed copies** (``playbook-kit tour``,
  ``make tour``), never executed here: :func:`copy_tour` copies them into ``docs/tour/``.
"""
from __future__ import annotations

import builtins
import importlib
import inspect
import json
import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "playbook_kit"
SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Yields|Raises|Attributes|"
                     r"Examples?):{1,2}\s*$")
"""A napoleon (Google style) section header, as the docstrings write them."""
EXTERNAL = {"pd", "pandas", "np", "numpy", "tf", "tensorflow", "keras", "kt", "keras_tuner",
            "matplotlib", "plt", "mpl", "scipy", "sklearn", "yaml", "jinja2", "pathlib",
            "Path", "typing", "collections", "datetime", "os", "sys", "io", "enum", "abc",
            "dataclasses", "numbers", "types", "subprocess", "ipywidgets", "IPython",
            "papermill", "nbformat", "optional", "callable", "Callable", "Iterable",
            "Iterator", "Sequence", "Mapping", "Any", "Literal", "NoneType", "Figure",
            "Axes", "DataFrame", "Series", "ndarray", "concurrent", "seaborn", "markdown_it"}
"""First parts of reference targets that live in other libraries: left as text."""


def exported_names() -> dict[str, str]:
    """The package's exported names and the module (relative to the package) of each."""
    package = importlib.import_module(PACKAGE)
    return dict(package._EXPORTS)


MISSING = object()
"""What :func:`resolve` returns for a path that names nothing."""


def resolve(target: str):
    """The object a dotted path names (``playbook_kit.insight.boundary_check``,
    ``playbook_kit.StudyResults.best_trials``), or :data:`MISSING`."""
    parts = [p for p in target.split(".") if p]
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                found = getattr(found, attribute)
        except AttributeError:
            return MISSING
        return found
    return MISSING


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function"


def _sections(doc: str) -> dict[str, list[str]]:
    """Each napoleon section of a docstring and its lines."""
    found, current = {}, None
    for line in doc.splitlines():
        match = SECTION.match(line.strip()) if not line[:1].isspace() else None
        if match:
            name = {"Arguments": "Args", "Parameters": "Args", "Examples": "Example",
                    "Yields": "Returns"}.get(match.group(1), match.group(1))
            current = found.setdefault(name, [])
        elif current is not None:
            if line.strip() and not line[:1].isspace():
                current = None  # a new paragraph at the left margin ends the section
            else:
                current.append(line)
    return found


def _parameters(obj) -> list[str]:
    """The parameter names a caller passes (``*args``/``**kwargs`` as written)."""
    function = obj.__init__ if inspect.isclass(obj) else obj
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    names = []
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls"):
            continue
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*",
                  inspect.Parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "")
        names.append(prefix + parameter.name)
    return names


def _documents(lines: list[str], name: str) -> bool:
    """Whether an ``Args:`` section describes ``name`` (alone, or in a group of names
    sharing one description: ``train, validation, test: ...``)."""
    for line in lines:
        entry = re.match(r"^\s+([\\*\w, ]+?)(\s*\(.*?\))?:", line)
        if entry and name.lstrip("*") in [n.strip().lstrip("\\*")
                                          for n in entry.group(1).split(",")]:
            return True
    return False


def docstring_problems(name: str, obj) -> list[str]:
    """What the docstring of exported ``name`` lacks, one sentence each (empty: complete).

    A function needs ``Args:`` naming each parameter, ``Returns:``, ``Raises:`` (or a
    paragraph "Raises nothing: why") and an ``Example:``; a class needs ``Args:`` naming each parameter of its constructor (or
    ``Attributes:`` when users get it from a function rather than build it), ``Raises:``
    when its constructor takes arguments, and an ``Example:``; an exception needs an
    ``Example:`` of where it comes from.
    """
    doc = inspect.getdoc(obj) if inspect.isclass(obj) else (obj.__doc__ or "")
    doc = inspect.cleandoc(doc or "")
    if not doc.strip():
        return [f"{PACKAGE}.{name} has no docstring"]
    sections = _sections(doc)
    if re.search(r"^Raises nothing\b", doc, re.M):  # said in words: nothing to list
        sections.setdefault("Raises", [])
    kind = _kind(obj)
    parameters = _parameters(obj) if kind != "exception" else []
    if kind == "class" and "Attributes" in sections and "Args" not in sections:
        parameters = []  # built by the package, read by the user
    needed = ["Args"] if parameters else []
    if kind == "function":
        needed += ["Returns", "Raises"]
    elif kind == "class" and parameters:
        needed.append("Raises")
    needed.append("Example")
    problems = []
    for section in needed:
        if section not in sections:
            problems.append(f"{PACKAGE}.{name}: the docstring has no {section}: section")
    if "Args" in sections:
        missing = [p for p in parameters if not _documents(sections["Args"], p)]
        if missing:
            problems.append(f"{PACKAGE}.{name}: Args: does not describe "
                            + ", ".join(missing))
    return problems


def write_reference(srcdir: Path, only: str = "") -> Path:
    """``reference/index.rst``: every exported name (or those of ``only``, comma-separated:
    a quick build), grouped by the module defining it."""
    chosen = [n.strip() for n in only.split(",") if n.strip()]
    groups: dict[str, list[str]] = {}
    for name, module in exported_names().items():
        if not chosen or name in chosen:
            groups.setdefault(module, []).append(name)
    lines = [".. This file is written by docs/_ext/playbook_docs.py at each build.", "",
             "API reference", "=============", "",
             "Everything below is importable from the top level: ``import playbook_kit as "
             "pk`` then ``pk.<name>``. Each page gives the arguments, what is returned, "
             "what is raised and an example. Sections follow the module that defines "
             "each name.", "", ".. currentmodule:: playbook_kit", ""]
    for module in sorted(groups, key=lambda m: list(groups).index(m)):
        defined = importlib.import_module(f"{PACKAGE}.{module}")
        summary = (inspect.getdoc(defined) or "").split("\n\n")[0].replace("\n", " ")
        title = f"``{PACKAGE}.{module}``"
        lines += [title, "-" * len(title), "", summary, "", ".. autosummary::",
                  "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in groups[module]]
        lines.append("")
    path = srcdir / "reference" / "index.rst"
    path.parent.mkdir(parents=True, exist_ok=True)
    listed = {f"{PACKAGE}.{name}.rst" for names in groups.values() for name in names}
    for page in (srcdir / "reference" / "generated").glob(f"{PACKAGE}.*.rst"):
        if page.name not in listed:  # a renamed or removed name's page, from an earlier build
            page.unlink()
    text = "\n".join(lines)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _complete_tour(folder: Path, stems: list[str]) -> bool:
    return all((folder / stem / f"{stem}.ipynb").is_file() for stem in stems)


def find_tour(root: Path, given: str | None, stems: list[str]) -> Path:
    """The tour whose executed notebooks the site shows: ``given`` (the
    ``playbook_kit_tour`` setting or the ``PLAYBOOK_KIT_TOUR`` variable), else the newest
    complete ``runs/tour-*``."""
    if given:
        folder = Path(given)
        if not _complete_tour(folder, stems):
            missing = [s for s in stems if not (folder / s / f"{s}.ipynb").is_file()]
            raise ConfigError(f"playbook_kit_tour={given!r} is not allowed; give a folder "
                              "of playbook-kit tour (it lacks the executed "
                              f"{', '.join(missing)})")
        return folder
    tours = sorted((p for p in (root / "runs").glob("tour-*") if _complete_tour(p, stems)),
                   reverse=True)
    if not tours:
        raise ConfigError("no executed tour of the guided notebooks in runs/: run `make "
                          "tour` (or `playbook-kit tour`) first, or set PLAYBOOK_KIT_TOUR "
                          "to a tour's folder; the site shows their outputs and never "
                          "executes them")
    return tours[0]


def _relative_paths(value, absolute: str, relative: str):
    """An output's text with the tour's absolute folder written as ``runs/tour-...``."""
    if isinstance(value, str):
        return value.replace(absolute, relative)
    if isinstance(value, list):
        return [_relative_paths(v, absolute, relative) for v in value]
    if isinstance(value, dict):
        return {k: _relative_paths(v, absolute, relative) for k, v in value.items()}
    return value


def copy_tour(tour: Path, target: Path, stems: list[str]) -> list[Path]:
    """Copy a tour's executed notebooks into ``target`` (``docs/tour/``) as the site shows
    them: papermill's injected-parameters cell (the tour's own folders) is left out, so the
    notebook's own ``parameters`` cell shows the defaults; outputs that print the tour's
    folder show it as ``runs/<tour folder>``, where ``make tour`` writes it, not as the
    machine's absolute path."""
    target.mkdir(parents=True, exist_ok=True)
    absolute, relative = str(tour.resolve()), f"runs/{tour.name}"
    written = []
    for stem in stems:
        notebook = json.loads((tour / stem / f"{stem}.ipynb").read_text())
        notebook["cells"] = [c for c in notebook["cells"] if "injected-parameters" not in
                             c.get("metadata", {}).get("tags", [])]
        for cell in notebook["cells"]:
            if "outputs" in cell:
                cell["outputs"] = _relative_paths(cell["outputs"], absolute, relative)
        path = target / f"{stem}.ipynb"
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    for stale in set(target.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


def _on_config_inited(app, config):
    """Write the reference's index and copy the tour's notebooks before Sphinx looks for
    source files, so that a fresh clone's first build finds them."""
    srcdir = Path(app.srcdir)
    write_reference(srcdir, config.playbook_kit_api_only)
    if config.playbook_kit_notebooks:
        from playbook_kit.teaching.notebooks import NOTEBOOK_DIR, list_notebooks

        stems = [p.stem for p in list_notebooks(NOTEBOOK_DIR)]
        given = config.playbook_kit_tour or os.environ.get("PLAYBOOK_KIT_TOUR")
        tour = find_tour(srcdir.parent, given, stems)
        logger.info(f"playbook-kit: notebooks from the executed tour {tour}")
        copy_tour(tour, srcdir / "tour", stems)


_CHECKED: set[str] = set()
"""Exported names whose docstrings were checked in this build (autosummary's table and
the name's page both process the docstring; one warning is enough)."""


def _on_process_docstring(app, what, name, obj, options, lines):
    if not name.startswith(f"{PACKAGE}.") or name.count(".") != 1 or name in _CHECKED:
        return
    exported = name.split(".", 1)[1]
    if exported not in app.env.playbook_kit_exports:
        return
    _CHECKED.add(name)
    for problem in docstring_problems(exported, obj):
        logger.warning(problem, location=name, type="playbook_kit", subtype="docstring")


def _on_skip_member(app, what, name, obj, skip, options):
    """Members inherited from other libraries (a Keras layer's, a dict's) stay out."""
    if skip:
        return None
    module = getattr(obj, "__module__", None) or getattr(
        getattr(obj, "fget", None), "__module__", None)
    if module is not None and not str(module).startswith(PACKAGE):
        return True
    return None


def _is_external(target: str) -> bool:
    first = target.lstrip("~.").split(".")[0]
    return first in EXTERNAL or first in dir(builtins) or first == "None"


def _defining_module(node) -> str:
    """The module whose docstring holds a reference: autodoc names it in the node's source
    (``.../training_length.py:docstring of playbook_kit.recipes.training_length.f``)."""
    source = str(getattr(node, "source", None) or "")
    if "docstring of " in source:
        path = source.rsplit("docstring of ", 1)[1].split(":")[0].split(".")
        for cut in range(len(path), 0, -1):
            if inspect.ismodule(resolve(".".join(path[:cut]))):
                return ".".join(path[:cut])
    return node.get("py:module") or PACKAGE


def _referenced(node):
    """The object a reference means, read where its docstring was written, or MISSING."""
    target = node["reftarget"].lstrip("~")
    module = _defining_module(node)
    if target.startswith("."):  # a relative module path, :mod:`.serialization`
        return resolve(module.rsplit(".", 1)[0] + target)
    # :mod:`.engines` reaches here as "engines": a module beside the defining one
    candidates = [target, f"{module}.{target}", f"{module.rsplit('.', 1)[0]}.{target}",
                  f"{PACKAGE}.{target}"]
    if node.get("py:class"):
        candidates.insert(1, f"{module}.{node['py:class']}.{target}")
    # a summary line in the reference's tables is read outside its module
    for exported in sorted(set(exported_names().values())):
        candidates += [f"{PACKAGE}.{exported}.{target}",
                       f"{PACKAGE}.{exported.rsplit('.', 1)[0]}.{target}"]
    for candidate in candidates:
        found = resolve(candidate)
        if found is not MISSING:
            return found
    return MISSING


def _exported_path(env, obj, target: str) -> str | None:
    """The documented ``playbook_kit.<name>`` (or ``playbook_kit.<Class>.<member>``) of
    ``obj``, when it has a page."""
    objects = env.get_domain("py").objects
    member = target.split(".")[-1]
    for name in sorted(env.playbook_kit_exports):
        exported = resolve(f"{PACKAGE}.{name}")
        if exported is obj and f"{PACKAGE}.{name}" in objects:
            return f"{PACKAGE}.{name}"
        if inspect.isclass(exported) and getattr(exported, member, MISSING) is obj and \
                f"{PACKAGE}.{name}.{member}" in objects:
            return f"{PACKAGE}.{name}.{member}"
    return None


def _on_missing_reference(app, env, node, contnode):
    """A reference to an exported object by another path links to its page; one to an
    object of the package without a page (a module, a constant, a helper) is shown as
    code; one to nothing stays a warning."""
    if node.get("refdomain") != "py" or _is_external(node["reftarget"]):
        return None
    obj = _referenced(node)
    if obj is MISSING:
        return None
    domain = env.get_domain("py")
    path = _exported_path(env, obj, node["reftarget"])
    if path is not None:
        for role in (node["reftype"], "obj"):
            found = domain.resolve_xref(env, node["refdoc"], app.builder, role, path, node,
                                        contnode)
            if found is not None:
                return found
    if node["reftype"] == "data" and isinstance(obj, (int, float, str, tuple)) and \
            len(repr(obj)) <= 40:
        return nodes.literal(text=f"{contnode.astext()} = {obj!r}")
    return contnode


def _on_warn_missing_reference(app, domain, node):
    """References into other libraries have no target here: no warning for them."""
    if domain.name == "py" and _is_external(node["reftarget"]):
        return True
    return None


def _on_env_before_read_docs(app, env, docnames):
    env.playbook_kit_exports = set(exported_names())


def setup(app):
    app.add_config_value("playbook_kit_tour", "", "env")
    app.add_config_value("playbook_kit_notebooks", True, "env")
    app.add_config_value("playbook_kit_api_only", "", "env")
    app.connect("config-inited", _on_config_inited)
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("autodoc-process-docstring", _on_process_docstring)
    app.connect("autodoc-skip-member", _on_skip_member)
    app.connect("missing-reference", _on_missing_reference)
    app.connect("warn-missing-reference", _on_warn_missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
