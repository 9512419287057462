"""Build hook: the guided notebooks ship inside the package, as ``playbook_kit/_notebooks``.

The notebooks live at the repository's top level (``notebooks/``), where Binder, JupyterLab,
nbval and the browser test open them; setuptools' package data only takes files inside a
package, so ``build_py`` copies them into the built package. The files copied are those
:func:`playbook_kit.teaching.notebooks.guided_files` lists (``tests/test_wheel.py`` checks that the
wheel holds exactly those). Everything else about the build is in ``pyproject.toml``.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("[0-9][0-9]_*.ipynb", "studies/*.yaml", "sweeps/*.yaml")


class BuildWithNotebooks(build_py):
    """``build_py`` that also copies the guided notebooks into the built package."""

    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "notebooks"
        target = Path(self.build_lib) / "playbook_kit" / "_notebooks"
        for pattern in SHIPPED:
            for path in sorted(source.glob(pattern)):
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


setup(cmdclass={"build_py": BuildWithNotebooks})
