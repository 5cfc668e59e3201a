"""End to end in a real browser: Debian's headless Chromium driven by Playwright against
``streamlit run app.py`` on a free loopback port. Upload an archive, tick an input, type a
key, Apply, download, and check the downloaded model with TensorFlow. A screenshot of each
page is saved under ``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from core.savedmodel.archive import write_archive
from tests.conftest import ROOT, assert_serves_keyed_house_price

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
STARTUP_SECONDS = 120
STEP_MS = 120_000
# Flags for a closed network: without them Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
    if os.environ.get("STUDIO_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser_page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.set_default_timeout(STEP_MS)
        page.goto(server)
        yield page
        browser.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _wait_until_idle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=STEP_MS)


def test_upload_edit_apply_download_in_chromium(browser_page, samples, tmp_path):
    page = browser_page
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _shot(page, "1-inspect-sample")

    archive = tmp_path / "house_price.tar.gz"
    write_archive(samples / "house_price", archive, root="export/house_price")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload", exact=True).click()
    sidebar.locator('input[type="file"]').set_input_files(str(archive))
    sidebar.get_by_text("house_price.tar.gz").last.wait_for()
    page.get_by_text("Loaded:").wait_for()
    _wait_until_idle(page)
    _shot(page, "2-inspect-uploaded")

    sidebar.get_by_role("link", name="Edit").click()
    page.get_by_text("Forward inputs to the outputs").wait_for()
    page.locator('[data-testid="stCheckbox"]').filter(has_text=re.compile(r"^tax_rate$")).click()
    key_box = page.get_by_role("textbox", name="Key name")
    key_box.fill("instance_key")
    key_box.press("Enter")
    _wait_until_idle(page)
    page.get_by_text("Signatures after the rewrite").wait_for()
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    _shot(page, "3-edit-applied")

    download_button = page.get_by_role("button", name=re.compile(r"^Download .*\.zip$"))
    with page.expect_download() as download_info:
        download_button.click()
    downloaded = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(downloaded)
    assert downloaded.name == "house_price_rewritten.zip"
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(downloaded).extractall(unpacked)
    assert_serves_keyed_house_price(unpacked)
    assert not tarfile.is_tarfile(downloaded)

    sidebar.get_by_role("link", name="Compare").click()
    page.get_by_text("1 inputs added, 0 removed, 0 changed; 2 outputs added").wait_for()
    _shot(page, "4-compare")

    sidebar.get_by_role("link", name="Try").click()
    page.get_by_role("button", name="Run request").click()
    page.get_by_text("Response").wait_for()
    _wait_until_idle(page)
    _shot(page, "5-try")
    assert not page.locator('[data-testid="stException"]').count()

    page.set_viewport_size({"width": 480, "height": 900})
    _shot(page, "6-try-narrow-window")
    page.set_viewport_size({"width": 1280, "height": 800})
