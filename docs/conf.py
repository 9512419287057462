"""Sphinx configuration of playbook-kit's documentation site (``make docs``).

Sphinx rather than MkDocs: the docstrings already use Sphinx's roles (``:func:``,
``:class:``), which autodoc, autosummary and napoleon render as written and nitpicky mode
checks (a broken reference fails the build with its file and line); myst-nb renders the
executed notebooks and the Markdown guides in the same build. The API pages come from the
package's exported names, the notebooks from a tour's executed copies (never executed
here): see ``_ext/playbook_docs.py``.
"""
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))   # the package of this checkout, not an installed one
sys.path.insert(0, str(DOCS / "_ext"))

import playbook_kit  # noqa: E402

project = "playbook-kit"
author = "playbook-kit maintainers"
copyright = "playbook-kit maintainers; the Deep Learning Tuning Playbook: Google Research, CC BY 4.0"
release = playbook_kit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "myst_nb",
    "playbook_docs",
]

# Every reference must resolve: a broken one is a warning, and `make docs` (-W) fails on it.
nitpicky = True
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# API reference: one page per exported name (reference/generated/), Google-style docstrings.
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_use_rtype = False
napoleon_preprocess_types = True     # types in Args/Returns link to their pages, checked too
add_module_names = False
python_use_unqualified_type_names = True

# Markdown guides and notebooks.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"      # outputs come from `make tour`'s executed copies
nb_merge_streams = True

html_theme = "furo"
html_title = f"playbook-kit {release}"
html_static_path = []
