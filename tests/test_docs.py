"""The API reference's content, checked without building the site: every exported name's
docstring gives its arguments, returns, raises and an example, and each example calls the
package as its signatures allow. (Building the site: tests/test_docs_build.py.)"""
import ast
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

import playbook_kit as pk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from playbook_docs import docstring_problems  # noqa: E402

sys.path.pop(0)


def test_every_exported_name_gives_its_arguments_returns_raises_and_an_example():
    problems = [p for name in pk._EXPORTS for p in docstring_problems(name, getattr(pk, name))]
    assert problems == []


def documented(a, b=1, *rest, **options):
    """Do it.

    Args:
        a: the first.
        rest: more.

    Returns:
        int: the answer.
    """


class Built:
    """Made by the package.

    Attributes:
        x: a number.

    Example::

        pk.thing().x
    """

    def __init__(self, x):
        self.x = x


class Made:
    """Made by the user."""

    def __init__(self, x):
        self.x = x


def test_the_check_names_what_a_docstring_lacks():
    assert docstring_problems("documented", documented) == [
        "playbook_kit.documented: the docstring has no Raises: section",
        "playbook_kit.documented: the docstring has no Example: section",
        "playbook_kit.documented: Args: does not describe b, **options"]
    assert docstring_problems("silent", lambda: None) == ["playbook_kit.silent has no docstring"]
    assert docstring_problems("Built", Built) == []
    assert docstring_problems("Made", Made) == [
        "playbook_kit.Made: the docstring has no Args: section",
        "playbook_kit.Made: the docstring has no Raises: section",
        "playbook_kit.Made: the docstring has no Example: section"]


def example(obj) -> str:
    """The code of a docstring's ``Example::`` block."""
    doc = inspect.getdoc(obj) if inspect.isclass(obj) else inspect.cleandoc(obj.__doc__)
    block = re.search(r"^Example::\n\n((?:[ \t]+.*\n?|\n)+)", doc, re.M)
    assert block, "no Example:: block"
    return textwrap.dedent(block.group(1))


@pytest.mark.parametrize("name", sorted(pk._EXPORTS))
def test_each_example_calls_the_package_as_its_signatures_allow(name):
    """Every ``pk.<name>(...)`` of an example is an exported name, and each keyword it
    passes is a parameter of that name (a renamed argument fails here)."""
    tree = ast.parse(example(getattr(pk, name)))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
             and node.func.value.id == "pk"]
    for call in calls:
        assert call.func.attr in pk._EXPORTS, f"pk.{call.func.attr} is not exported"
        target = getattr(pk, call.func.attr)
        signature = inspect.signature(target.__init__ if inspect.isclass(target) else target)
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        for keyword in call.keywords:
            assert keyword.arg is None or accepts_any or keyword.arg in signature.parameters, \
                f"pk.{call.func.attr} takes no argument {keyword.arg!r}"
