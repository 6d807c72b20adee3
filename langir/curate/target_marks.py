"""Draw the targets a structured answer gave (stored by `describe --structured`) on an image's axes.

Used by the report's gallery; kept apart from the report's plots so the drawing has one home.
Targets are in pixels of the original image with the origin at the top-left pixel's corner
(`langir.data.answer_targets`); `imshow` puts pixel centres on integers, hence the half-pixel shift.
"""

from __future__ import annotations

from typing import Any

ANSWER_COLOUR = "#ee3377"  # magenta (Tol's vibrant scheme): apart from the mask's green outline


def draw_answer_targets(ax: Any, targets: list[dict[str, Any]] | None, colour: str = ANSWER_COLOUR) -> int:
    """Draw each target's point (×) and box (dashed) on `ax` (showing the image with `imshow`); returns how many.

    A small "× answer" label in the top-left corner says what the marks are. None or [] draws nothing.
    """
    if not targets:
        return 0
    from matplotlib.patches import Rectangle

    for target in targets:
        box = target.get("box")
        if box is not None:
            x0, y0, x1, y1 = box
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=colour,
                                   linewidth=1.2, linestyle="--"))
        x, y = target["point"]
        ax.plot([x - 0.5], [y - 0.5], marker="x", color=colour, markersize=8, markeredgewidth=1.8,
                scalex=False, scaley=False)
    ax.text(0.02, 0.98, "× answer", transform=ax.transAxes, color=colour, fontsize=7, va="top", ha="left",
            bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "edgecolor": "none"})
    return len(targets)
