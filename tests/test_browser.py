"""The widget notebook in a real browser: JupyterLab on localhost, headless Debian Chromium, Playwright.

Skipped where Chromium or Playwright is missing, unless ``MUSICSTYLE_REQUIRE_BROWSER=1`` (CI sets
it, after installing both), which turns the skip into a failure. Leaves a screenshot in
``test-artifacts/widget.png``.
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
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "MUSICSTYLE_QUICK": "1"}
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
    yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def test_widget_runs_in_a_real_browser(jupyterlab):
    _require(CHROMIUM is not None, "Debian chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "playwright is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)
        try:
            page.goto(jupyterlab)
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            try:  # JupyterLab may ask which kernel to start
                page.click(".jp-Dialog button:has-text('Select')", timeout=15_000)
            except Exception:
                pass
            page.click("li[role='menuitem']:has-text('Run')")
            page.click("li[role='menuitem']:has-text('Run All Cells')")
            button = page.wait_for_selector(".widget-button:has-text('Transfer')", timeout=180_000)
            button.click()
            # both players hold a loaded sound (ipywidgets serves the WAV bytes as a blob: URL)
            page.wait_for_function(
                "[...document.querySelectorAll('audio')].filter(a => a.src && a.readyState >= 1 && a.duration > 1).length >= 2",
                timeout=240_000,
            )
            page.wait_for_selector(".widget-html-content:has-text('of the dynamics discriminator: before:')")
            page.wait_for_selector("a[download$='.mid']", state="attached")
            page.wait_for_selector(".jp-OutputArea img")
            durations = page.eval_on_selector_all("audio", "els => els.map(e => e.duration)")
            assert len([d for d in durations if d > 1]) >= 2
            assert page.locator(".widget-html-content:has-text('error:')").count() == 0
        finally:
            page.screenshot(path=str(ARTIFACTS / "widget.png"), full_page=True)
            browser.close()
