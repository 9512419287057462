"""How results look, the same everywhere (docs/design.md, *Core*): the one look of every
figure (:mod:`.style`), HTML reports from the Jinja2 templates in ``templates/``
(:mod:`.rendering`) and tables a learner reads whole (:mod:`.tables`)."""
from .rendering import environment, png_base64, render
from .style import apply_style, detach, draw_best_so_far, study_colors
from .tables import install, installed, to_html, to_text, uninstall

__all__ = ["apply_style", "detach", "draw_best_so_far", "environment", "install",
           "installed", "png_base64", "render", "study_colors", "to_html", "to_text",
           "uninstall"]
