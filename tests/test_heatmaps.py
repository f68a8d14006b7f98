"""Heat maps of matrices: a panel with fewer pixel rows than steps merges steps by their largest value, so a
note struck at one step is never lost between the rows drawn; before/after panels span one window."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from midibytes import off, on, smf, track  # noqa: E402
from musicstyle.core.midi import read_midi  # noqa: E402
from musicstyle.core.roll import PAPER  # noqa: E402
from musicstyle.figures.rolls import before_after, heatmap  # noqa: E402


def _strikes(steps: int = 512, every: int = 4) -> np.ndarray:
    m = np.zeros((steps, PAPER.columns), np.uint8)
    m[np.arange(0, steps, every), 10 + (np.arange(0, steps, every) // every) % 40] = 90  # a strike every few steps
    return m


def test_a_short_panel_merges_steps_and_keeps_every_strike():
    m = _strikes()
    fig, ax = plt.subplots(figsize=(4, 2))  # about 100 pixel rows at 72 dots per inch for 512 steps
    heatmap(m, PAPER, ax=ax)
    shown = ax.images[0].get_array()
    assert len(shown) < 256 and (len(shown) - 1) * -(-512 // len(shown)) < 512  # merged, covering the window
    k = -(-512 // len(shown))
    expected = np.zeros((len(shown), PAPER.keys), np.uint8)
    for step, col in zip(*np.nonzero(m)):
        expected[step // k, col] = 90
    assert np.array_equal(shown.filled(0), expected)  # every strike, in the row of its step
    assert ax.get_ylim() == (511.5, -0.5)
    plt.close(fig)


def test_a_tall_panel_draws_every_step():
    m = _strikes(64)
    fig, ax = plt.subplots(figsize=(4, 6))
    heatmap(m, PAPER, ax=ax, start=8, steps=32)
    assert np.array_equal(ax.images[0].get_array().filled(0), m[8:40, : PAPER.keys]) and ax.get_ylim() == (39.5, 7.5)
    plt.close(fig)


def test_pedals_are_grey_on_their_own_scale_outside_the_keys_colour_bar():
    m = _strikes(64)
    m[:, PAPER.keys] = 127  # the sustain pedal held all the way down
    fig, ax = plt.subplots(figsize=(4, 6))
    heatmap(m, PAPER, ax=ax, colorbar="velocity")
    keys, pedals = ax.images
    assert keys.get_clim() == (0, 90) and keys.get_array().shape[1] == PAPER.keys  # the loudest strike tops the bar
    assert pedals.cmap.name.startswith("Greys") and np.all(pedals.get_array().filled(0)[:, 0] == 127)
    assert tuple(pedals.get_extent()[:2]) == (PAPER.keys - 0.5, PAPER.columns - 0.5) and ax.get_xlim() == (-0.5, PAPER.columns - 0.5)
    assert fig.axes[-1].get_ylabel() == "velocity" and "then pedals in grey (sustain, soft)" in ax.get_xlabel()
    assert np.allclose(pedals.get_clim(), (0, 127 / 0.55))  # the deepest press mid-grey, not black like a note
    plt.close(fig)


def test_new_music_panels_span_the_longer_window_each_from_its_own_first_strike():
    short = read_midi(smf(track([(0, on(60, 80)), (240, off(60)), (240, on(64, 70)), (240, off(64))])))
    long = read_midi(smf(track([pair for i in range(40) for pair in ((480 if i == 0 else 0, on(48 + i % 24, 60)), (480, off(48 + i % 24)))])))
    fig = before_after(short, long, ("original", "new"), same_notes=False)
    maps = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert maps[0].get_ylim() == (320.5, -0.5)  # the original from its first strike, as long as the new music
    assert maps[1].get_ylim() == (328.5, 7.5)  # the new music starts a beat in
    assert (maps[0].images[0].get_array().filled(0) > 0).sum() == 2  # both strikes of the short piece drawn
    plt.close(fig)


def test_the_note_panels_say_one_note_and_keep_the_first_note_off_the_left_edge():
    before = read_midi(smf(track([(0, on(60, 80)), (480, off(60))])))
    after = read_midi(smf(track([(0, on(60, 49)), (480, off(60))])))
    fig = before_after(before, after, ("original", "to classical"))
    line, change = (next(ax for ax in fig.axes if ax.get_ylabel() == label) for label in ("velocity (1-127)", "velocity change"))
    assert [t.get_text() for t in line.get_legend().get_texts()] == ["original (1 note)", "to classical (1 note)"]
    for ax in (line, change):
        assert ax.get_xlim()[0] < 0  # the notes at 0 s are drawn inside the frame, not on it
    plt.close(fig)


def test_log_histograms_show_each_bins_share_so_long_values_are_not_flattened():
    from musicstyle.figures.rolls import histograms

    short, long_ = np.full(90, 0.011), np.full(10, 5.0)  # a narrow bin near 0.01 s and a wide one near 5 s
    ax = histograms({"presses": np.concatenate([short, long_])}, bins=np.logspace(-2, 1, 13), xlabel="s", log=True)
    heights = ax.patches[0].get_xy()[:, 1]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "share per bin"
    assert np.isclose(heights.max(), 0.9) and np.isclose(np.sort(np.unique(heights))[-2], 0.1)  # shares, not densities
    assert np.isclose(ax.get_ylim()[1], 1.22 * 0.9)  # room above the bars for the legend's one line
    ax = histograms({"a": [1, 1, 3], "b": [2, 3, 3]}, bins=[0, 2, 4], xlabel="v", density=False)
    assert ax.get_xscale() == "linear" and np.allclose(ax.get_ylim(), (0, (1.1 + 0.24) * 3))  # room for two legend lines
    ax = histograms({"a": [0.5, 2.0, 8.0]}, bins=4, xlabel="s", log=True)
    assert ax.patches[0].get_xy()[:, 0].min() == 0.5 and np.isclose(ax.patches[0].get_xy()[:, 0].max(), 8.0)
    plt.close("all")
