"""Figures of the chords LSTM.

Taught in ``notebooks/04_lstm_generation.ipynb``.
"""

from __future__ import annotations


def architecture_figure(ax=None, units: int = 128):
    """The conditioning drawn. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Style vector -> dense -> (h0, c0) -> LSTM steps -> sigmoid outputs (held and onset), which also
    read the current row (the skip connection), with teacher forcing in training and sampled feedback
    in generation.

    Args:
        ax: the axes to draw on (default: a new figure).
        units: LSTM units written in the boxes (the shipped models: 128).

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.6))
    ax.set_xlim(0, 10.2)
    ax.set_ylim(-0.2, 5.2)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)

    def arrow(a, b, **style):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, lw=1, **style))

    box(0.1, 4.0, 1.9, 0.8, "piece (keys only)\n-> genre classifier", "#dddddd")
    box(0.1, 2.6, 1.9, 0.8, "style vector\n(50, mean of windows)", "#9ecae1")
    box(0.1, 1.3, 1.9, 0.9, "dense -> h0 (tanh)\ndense -> c0", "#fdd0a2")
    arrow((1.05, 4.0), (1.05, 3.4))
    arrow((1.05, 2.6), (1.05, 2.2))
    xs, half, steps = [3.4, 5.7, 8.0], 0.6, ["t", "t+1", "t+2"]
    for j, x in enumerate(xs):
        box(x - half, 1.3, 0.85, 0.9, f"LSTM({units})\nstep {steps[j]}", "#fdae6b")
        box(x - half, 0.0, 2 * half, 0.6, f"row {steps[j]}:\nheld + onset", "#ffffb2")
        box(x - half, 3.0, 2 * half, 0.9, f"dense, sigmoid:\nheld, onset\nat {['t+1', 't+2', 't+3'][j]}", "#a1d99b")
        arrow((x - 0.175, 0.6), (x - 0.175, 1.3))
        arrow((x - 0.175, 2.2), (x - 0.175, 3.0))
        arrow((x + 0.45, 0.6), (x + 0.45, 3.0), linestyle="--", color="#555555")  # the skip connection
        ax.text(x + 0.52, 0.95, "skip", fontsize=6.5, rotation=90, color="#555555")
        if j:
            arrow((xs[j - 1] - half + 0.85, 1.75), (x - half, 1.75))
            arrow((xs[j - 1] + half, 3.45), (x - half, 0.3), linestyle=":", color="#3182bd")  # fed back
    arrow((2.0, 1.75), (xs[0] - half, 1.75))
    ax.text(2.4, 1.85, "h0, c0", fontsize=7, ha="center")
    ax.text(9.5, 1.75, "...", fontsize=14, ha="center", va="center")
    ax.text(6.1, 4.55, "blue dots: the row at t+1 is the next input; training feeds the true row (teacher forcing),\n"
            "generation a Bernoulli sample of the outputs. Dashed: the outputs also read the current row",
            ha="center", fontsize=8)
    return ax
