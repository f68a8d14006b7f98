"""The notebooks in a real browser: JupyterLab on localhost, headless Debian Chromium, Playwright.

The widget notebook (07) is run and used as a student would: a transfer, a pending upload shown as
the source, a failed upload that leaves no stale result, a good upload, inspired generation from it, and
a setting changed after a run.
A stored notebook (01) is opened untrusted and its stored player must load its audio. Skipped where
Chromium or Playwright is missing, unless ``MUSICSTYLE_REQUIRE_BROWSER=1`` (CI sets it, after
installing both), which turns the skip into a failure. Leaves one screenshot per state in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "07_style_transfer_widget.ipynb"
STORED = "01_data_exploration.ipynb"  # a stored notebook with a player, opened untrusted
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("MUSICSTYLE_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab serving a copy of the notebooks on 127.0.0.1; stopped after the test."""
    if not (ROOT / "notebooks" / NOTEBOOK).is_file():
        pytest.skip(f"notebooks/{NOTEBOOK} is not written yet")
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    port, token = _free_port(), "musicstyle-browser-test"
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # fresh config and data folders: no notebook signature database, so every notebook opens untrusted
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"), "MUSICSTYLE_QUICK": "1"}
    env.pop("MUSICSTYLE_CACHE", None)  # the kernel uses the user cache: the default piece is rendered once
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
         "--LabApp.news_url=None"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start: " + (tmp_path / "server.log").read_text()[-2000:])
    yield lambda notebook: f"{url}/lab/tree/{notebook}?token={token}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


PLAYABLE = "els => els.filter(a => a.src && a.readyState >= 1 && a.duration > 1).length"


def _browser(p):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.set_default_timeout(120_000)
    return browser, page


def _playwright():
    _require(CHROMIUM is not None, "Debian chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "playwright is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    return sync_playwright()


def _midi(pitches) -> bytes:
    sys.path.insert(0, str(ROOT / "tests"))
    from midibytes import off, on, smf, track

    pairs = []
    for i, pitch in enumerate(pitches):
        pairs += [(0, on(pitch, 40 + 10 * (i % 6))), (240, off(pitch))]
    return smf(track(pairs))


def _upload(page, widget, name: str, data: bytes) -> None:
    """Choose a file with the widget's upload button (its file input is never in the page)."""
    with page.expect_file_chooser() as chooser:
        widget.locator(".widget-upload").click()
    chooser.value.set_files({"name": name, "mimeType": "audio/midi", "buffer": data})


def test_widget_runs_in_a_real_browser(jupyterlab):
    with _playwright() as p:
        browser, page = _browser(p)
        widget = page.locator(".jp-OutputArea-output:has(.widget-upload)").first
        shot = "widget_result"
        try:
            page.goto(jupyterlab(NOTEBOOK))
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            try:  # JupyterLab may ask which kernel to start
                page.click(".jp-Dialog button:has-text('Select')", timeout=15_000)
            except Exception:
                pass
            page.click("li[role='menuitem']:has-text('Run')")
            page.click("li[role='menuitem']:has-text('Run All Cells')")
            button = page.wait_for_selector(".widget-button:has-text('Transfer')", timeout=180_000)
            assert widget.locator("text=picked: default/Maple Leaf Rag").count() == 1  # the source in use is shown
            # the last cell has run (the widget driven from code): the kernel is idle again, and the models are loaded
            page.wait_for_selector(".jp-Notebook .jp-Cell:last-child .jp-OutputArea-output:has-text('judged by the genre classifier')", timeout=400_000)
            button.click()
            # both players hold a loaded sound (ipywidgets serves the WAV bytes as a blob: URL)
            page.wait_for_function("[...document.querySelectorAll('audio')].filter(a => a.duration > 1).length >= 2", timeout=240_000)
            widget.locator(".widget-html-content:has-text('of the dynamics discriminator: before:')").wait_for()
            widget.locator("text=hears how hard each note is struck").wait_for()
            widget.locator("a[download$='.mid']").wait_for(state="attached")
            widget.locator("img").nth(1).wait_for()  # the before/after figure, then the judge's verdict by stretch
            assert widget.locator("img").count() == 2
            widget.locator("text=result of: default/Maple Leaf Rag (Joplin)").wait_for()
            assert widget.locator(".widget-html-content:has-text('error:')").count() == 0
            widget.screenshot(path=str(ARTIFACTS / "widget_result.png"))

            shot = "widget_upload_pending"  # a pending upload is the source, and the list highlights nothing
            _upload(page, widget, "broken.mid", b"MThd not really")
            widget.locator("text=uploaded: broken.mid").wait_for()
            assert widget.locator(".widget-select select option:checked").count() == 0
            widget.screenshot(path=str(ARTIFACTS / "widget_upload_pending.png"))

            shot = "widget_error"  # an error after a successful run leaves no stale result
            button.click()
            widget.locator(".widget-html-content:has-text('error: broken.mid')").wait_for()
            assert widget.locator("img").count() == 0 and widget.locator("a[download]").count() == 0
            assert widget.locator("audio").count() == 0 and widget.locator("text=verdict").count() == 0
            assert widget.locator("text=picked: default/Maple Leaf Rag").count() == 1  # the failed upload was dropped
            widget.screenshot(path=str(ARTIFACTS / "widget_error.png"))

            shot = "widget_upload_result"  # a good upload runs and stays the source
            _upload(page, widget, "my tune.mid", _midi([60, 64, 67, 72, 67, 64] * 6))
            widget.locator("text=uploaded: my tune.mid").wait_for()
            button.click()
            widget.locator("a[download='my tune_to_classical.mid']").wait_for(state="attached")
            widget.locator("img").nth(1).wait_for()
            assert widget.locator("text=error:").count() == 0 and widget.locator("text=uploaded: my tune.mid").count() == 1
            assert widget.locator("text=Caution: only 36 notes").count() == 1  # too short for the judge to be sure
            widget.screenshot(path=str(ARTIFACTS / "widget_upload_result.png"))

            shot = "widget_inspired_short"  # inspired generation from the same upload: the classifier's caution
            widget.locator(".widget-dropdown:has(.widget-label:text-is('mode')) select").select_option("inspired generation")
            widget.locator(".widget-button:has-text('Generate')").wait_for()  # generation's button, and no route
            assert widget.locator(".widget-dropdown:has(.widget-label:text-is('route'))").is_hidden()
            button.click()
            widget.locator("a[download='my tune_inspired_classical.mid']").wait_for(state="attached")
            widget.locator(".widget-html-content:has-text('of the genre classifier: before:')").wait_for()
            assert widget.locator("text=Caution: only 18 beats of music").count() == 1  # shorter than one 64-beat window
            widget.screenshot(path=str(ARTIFACTS / "widget_inspired_short.png"))

            shot = "widget_settings_changed"  # a setting changed after the run: the result says it is of others
            widget.locator(".widget-toggle-buttons button:has-text('jazz')").last.click()
            widget.locator("text=settings changed").wait_for()
            widget.screenshot(path=str(ARTIFACTS / "widget_settings_changed.png"))
        finally:
            page.screenshot(path=str(ARTIFACTS / f"{shot}_page.png"))
            browser.close()


def test_stored_players_play_in_an_untrusted_notebook(jupyterlab):
    with _playwright() as p:
        browser, page = _browser(p)
        try:
            page.goto(jupyterlab(STORED))
            player = page.locator(".jp-OutputArea-output audio").first
            player.wait_for(state="attached")
            player.scroll_into_view_if_needed()
            page.wait_for_function(f"({PLAYABLE})([...document.querySelectorAll('.jp-OutputArea-output audio')]) >= 1", timeout=60_000)
            assert page.locator(".jp-Notebook .jp-Cell").count() > 5
            # no kernel ran: the audio comes from the stored output, through JupyterLab's sanitizer (untrusted)
            assert player.evaluate("a => a.duration") > 1
        finally:
            page.screenshot(path=str(ARTIFACTS / "stored_notebook_audio.png"))
            browser.close()
