"""One look for every playbook-kit figure.

:func:`apply_style` sets a seaborn theme and a few matplotlib defaults so that figures
read well when rendered statically (GitHub, nbviewer, papermill output): white grid,
colour-blind-safe palette, no top/right spines, tight bounding boxes when saved. The
runtime's ``setup()`` calls it; plotting functions never change global state themselves,
they only use the colour and marker constants below so that the playbook's conventions
(infeasible trials are red crosses) hold whatever theme is active. A mark that several
figures share is drawn by one function here (:func:`draw_best_so_far`).
"""
from __future__ import annotations

import matplotlib as mpl
import seaborn as sns

from ..core.rules import best_so_far

PALETTE = "colorblind"
"""Seaborn palette for studies and highlighted trials (safe for colour-blind readers)."""
INFEASIBLE_COLOR = "red"
"""Infeasible trials: red crosses, as in the playbook's axis plots."""
INFEASIBLE_MARKER = "x"
FAILED_COLOR = "0.45"
"""Trials that crashed (status "failed"), drawn as grey crosses beside the red ones."""
FAINT_COLOR = "0.65"
FAINT_ALPHA = 0.35
"""Background trials in training-curve plots."""
BEST_MARKER = "*"
"""Marks the best trial (axis plots) and the best checkpoint (training curves)."""
BOUND_COLOR = "0.5"
"""Dashed lines at the search-space bounds and bucket edges."""

CONTEXTS = ("paper", "notebook", "talk", "poster")

_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.fontsize": "small",
    "lines.linewidth": 1.5,
    "image.cmap": "viridis",
}


def study_colors(n: int) -> list:
    """``n`` distinct colours from the toolkit palette (one per study or highlighted trial)."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return list(sns.color_palette(PALETTE, max(n, 1)))[:n]


def apply_style(context: str = "notebook", font_scale: float = 1.0) -> None:
    """Apply the toolkit's seaborn theme and matplotlib defaults (idempotent).

    ``context`` scales fonts and lines for where figures are shown: "paper", "notebook"
    (default), "talk" (workshops, projectors) or "poster".
    """
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, got {context!r}")
    if not isinstance(font_scale, (int, float)) or not font_scale > 0:
        raise ValueError(f"font_scale must be a positive number, got {font_scale!r}")
    sns.set_theme(context=context, style="whitegrid", palette=PALETTE,
                  font_scale=font_scale, rc=_RC)
    mpl.rcParams.update(_RC)


def detach(fig):
    """Close ``fig`` in pyplot and return it: a notebook then shows it once, as the cell's
    value, instead of twice (inline backend and the returned object)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig


def draw_best_so_far(ax, trial_numbers, objectives, direction: str, **line):
    """Draw the best-so-far curve into ``ax``: after trial k, the best objective of trials
    1..k, as a step line (gid "best_so_far"); a NaN objective (an infeasible trial)
    counts as a trial that found nothing. Every figure that shows the curve draws it
    here. ``line`` goes to ``ax.step`` (color, label, ...). Returns the Line2D."""
    running = best_so_far(objectives, direction)
    (drawn,) = ax.step(trial_numbers, running, where="post", gid="best_so_far", **line)
    return drawn
