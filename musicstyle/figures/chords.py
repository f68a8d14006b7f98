"""Figures of the chords LSTM.

Taught in ``notebooks/04_lstm_generation.ipynb``.
"""

from __future__ import annotations


def architecture_figure(ax=None, units: int = 256):
    """The conditioning drawn. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Style vector -> dense -> (h0, c0) -> LSTM steps -> sigmoid outputs, with teacher forcing in
    training and sampled feedback in generation.

    Args:
        ax: the axes to draw on (default: a new figure).
        units: LSTM units written in the boxes.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.2, 5)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)

    def arrow(a, b):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, lw=1))

    box(0.1, 3.9, 1.9, 0.8, "piece (keys only)\n-> genre classifier", "#dddddd")
    box(0.1, 2.5, 1.9, 0.8, "style vector\n(50, mean of windows)", "#9ecae1")
    box(0.1, 1.0, 1.9, 0.9, "dense -> h0 (tanh)\ndense -> c0", "#fdd0a2")
    arrow((1.05, 3.9), (1.05, 3.3))
    arrow((1.05, 2.5), (1.05, 1.9))
    xs = [3.0, 4.9, 6.8, 8.7]
    for j, x in enumerate(xs):
        t = ["t", "t+1", "t+2"][j] if j < 3 else ""
        box(x - 0.55, 1.0, 1.1, 0.9, f"LSTM({units})\nstep {t}" if j < 3 else "...", "#fdae6b")
        box(x - 0.55, 0.0, 1.1, 0.6, f"held+onset\nrow {t}" if j < 3 else "", "#ffffb2")
        box(x - 0.55, 2.5, 1.1, 0.8, f"sigmoid 59\nheld {['t+1', 't+2', 't+3'][j]}" if j < 3 else "", "#a1d99b")
        arrow((x, 0.6), (x, 1.0))
        arrow((x, 1.9), (x, 2.5))
        if j:
            arrow((xs[j - 1] + 0.55, 1.45), (x - 0.55, 1.45))
    arrow((2.0, 1.45), (xs[0] - 0.55, 1.45))
    ax.text(2.05, 1.55, "h0, c0", fontsize=7)
    for j in range(2):
        arrow((xs[j] + 0.3, 3.3), (xs[j + 1] - 0.3, 0.6))
    ax.text(5.0, 4.2, "training: the true row t+1 is the next input (teacher forcing)\n"
            "generation: a Bernoulli sample of the outputs is fed back", ha="center", fontsize=8)
    return ax
