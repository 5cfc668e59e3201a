"""End to end in a real browser: Debian's headless Chromium driven by Playwright against
``streamlit run app.py`` on a free loopback port. Upload an archive, tick an input, type a
key, Apply, download, and check the downloaded model with TensorFlow. A screenshot of each
page is saved under ``test-artifacts/screenshots/``."""

from __future__ import annotations

import json
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

from core.sources.archive import write_archive
from core.workflows import inspect_model
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
def server(tmp_path_factory, models):
    _require_browser()
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    roots = os.pathsep.join([str(ROOT / "sample_models"), str(models["loop_forever"].parent)])
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--server.fileWatcherType", "none"],  # the code as it was at start, whatever is edited meanwhile
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "STUDIO_MODEL_ROOTS": roots},
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
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser_page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    return page


def _shot(page, name: str, show=None) -> None:
    """Save a screenshot; ``show`` (a locator) is scrolled into view first (pages scroll inside)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if show is not None:
        show.first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _wait_until_idle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=STEP_MS)


def _sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def _response(page):
    """The response shown on the Try page's JSON tab."""
    return page.get_by_role("tabpanel", name="JSON request").get_by_test_id("stCode")


def _try_request(page) -> None:
    """Open Try and run its request as it stands; wait for the response."""
    _sidebar(page).get_by_role("link", name="Try").click()
    page.get_by_role("button", name="Run request").click()
    page.get_by_text("Response", exact=True).wait_for()
    _wait_until_idle(page)


def _edit_and_apply(page, key: str) -> None:
    """On the Edit page: name the key, then click Apply."""
    _sidebar(page).get_by_role("link", name="Edit").click()
    key_box = page.get_by_role("textbox", name="Key name")
    key_box.fill(key)
    key_box.press("Enter")
    _wait_until_idle(page)
    page.get_by_role("button", name="Apply").click()


def test_upload_edit_apply_download_in_chromium(browser_page, samples, tmp_path):
    page = browser_page
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    _shot(page, "1-inspect-sample")

    archive = tmp_path / "house_price.tar.gz"
    write_archive(samples / "house_price", archive, root="export/house_price")
    sidebar = _sidebar(page)
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
    _shot(page, "3-edit-applied", page.get_by_text("Verification report"))
    sidebar.get_by_text("Rewritten: signature").wait_for()

    download_button = page.get_by_role("button", name=re.compile(r"^Download .*\.zip$"))
    with page.expect_download() as download_info:
        download_button.click()
    downloaded = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(downloaded)
    assert re.fullmatch(r"house_price_serving_default_key-instance_key_[0-9a-f]{6}\.zip", downloaded.name)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(downloaded).extractall(unpacked)
    assert_serves_keyed_house_price(unpacked)
    assert not tarfile.is_tarfile(downloaded)

    page.get_by_role("textbox", name="Key name").fill("row_key")
    page.get_by_role("textbox", name="Key name").press("Enter")
    page.get_by_text("The choices changed since the last Apply").wait_for()
    _wait_until_idle(page)
    old_download = page.get_by_role("button", name=re.compile(r"^Download .*\.(zip|tar\.gz)$"))
    assert not old_download.count(), "no download of the old model"
    _shot(page, "4-edit-choices-changed")

    sidebar.get_by_role("link", name="Compare").click()
    page.get_by_text("1 input added, 0 removed, 0 changed; 2 outputs added").wait_for()
    _wait_until_idle(page)
    _shot(page, "5-compare")

    _try_request(page)
    assert '"instance_key": "row-0"' in _response(page).inner_text()
    _shot(page, "6-try", _response(page))
    assert not page.locator('[data-testid="stException"]').count()

    page.reload()
    page.get_by_text("Run request").wait_for()
    _wait_until_idle(page)
    sidebar.get_by_text("house_price.tar.gz").wait_for()
    sidebar.get_by_text("Rewritten: signature").wait_for()
    page.get_by_text("Response", exact=True).wait_for()
    assert '"instance_key": "row-0"' in _response(page).inner_text(), "the answer is the session's, not the tab's"
    _shot(page, "7-try-after-reload", _response(page))

    page.set_viewport_size({"width": 480, "height": 900})
    _shot(page, "8-try-narrow-window")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_tf1_model_applies_with_progress_and_tries_its_classify_signature(browser_page):
    page = browser_page
    sidebar = _sidebar(page)
    sidebar.get_by_text("Server path", exact=True).click()
    sidebar.get_by_role("textbox", name="Path on the server").fill("sample_models/tf1_half_plus_two")
    sidebar.get_by_role("button", name="Load path").click()
    sidebar.get_by_text("TF Serving version 123").wait_for()
    _edit_and_apply(page, "k")
    page.get_by_text("Rewriting and verifying…").wait_for()
    page.get_by_role("button", name="Cancel").wait_for()
    sidebar.get_by_text("Applying…").wait_for()
    _shot(page, "9-edit-tf1-applying", page.get_by_role("button", name="Cancel"))
    filter_box = page.get_by_role("textbox", name="Filter inputs")
    filter_box.fill("x")  # a click elsewhere while it runs does not stop it
    filter_box.press("Enter")
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    _shot(page, "10-edit-tf1-applied", page.get_by_text("Verification report"))

    sidebar.get_by_role("link", name="Try").click()
    page.get_by_role("button", name="Run request").wait_for()
    _wait_until_idle(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Signature").click()
    page.get_by_role("option", name="classify_x_to_y").click()
    page.get_by_text("takes serialized tf.Example protos").wait_for()
    _wait_until_idle(page)
    page.get_by_role("button", name="Run request").click()
    page.get_by_text("Response", exact=True).wait_for()
    _wait_until_idle(page)
    assert '"classes"' in _response(page).inner_text()
    _shot(page, "11-try-tf1-classify", _response(page))
    assert not page.locator('[data-testid="stException"]').count()


def test_a_batch_run_through_beam_shows_progress_results_errors_and_the_commands_at_scale(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    sidebar = _sidebar(page)
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    _edit_and_apply(page, "instance_key")
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)

    rows = tmp_path / "rows.csv"
    keys = ["a,1", 'say "hi"', "ünïcødé"]
    lines = ["instance_key,rooms,tax_rate"] + [f'"{k.replace(chr(34), chr(34) * 2)}",{i + 2},0.{i}' for i, k in enumerate(keys)]
    rows.write_text("\n".join([*lines, "bad,three,0.1"]) + "\n", encoding="utf-8")
    sidebar.get_by_role("link", name="Try").click()
    page.get_by_role("tab", name="Batch run (Apache Beam)").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(rows))
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Key column").wait_for()
    _wait_until_idle(page)
    key_picker = page.get_by_role("combobox", name="Key column")
    assert key_picker.input_value() == "instance_key"  # the model's key, chosen for the user
    page.get_by_role("button", name="Run batch").click()
    page.get_by_text("Predicting…").wait_for()
    _shot(page, "12-try-batch-running", page.get_by_text("Predicting…"))
    page.get_by_text("rows.csv: 4 rows: 3 predicted, 1 rejected").wait_for()
    _wait_until_idle(page)
    _shot(page, "13-try-batch-done", page.get_by_text("First rejected rows"))

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download results (JSON lines)").click()
    assert download_info.value.suggested_filename == "house_price_serving_default_results.jsonl"
    download_info.value.save_as(tmp_path / "results.jsonl")
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text("utf-8").splitlines()]
    assert sorted(r["key"] for r in results) == sorted(keys)
    assert all(r["prediction"]["instance_key"] == r["key"] for r in results)

    page.get_by_text("Run it at scale").click()
    page.get_by_text("DataflowRunner", exact=False).first.wait_for()
    _wait_until_idle(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name=re.compile("^Download the hand-off files")).click()
    download_info.value.save_as(tmp_path / "handoff.zip")
    assert "house_price_serving_default_handoff/models.config" in zipfile.ZipFile(tmp_path / "handoff.zip").namelist()
    _shot(page, "14-try-batch-at-scale", page.get_by_text("Spark", exact=True))
    assert not page.locator('[data-testid="stException"]').count()
    page.close()


def test_cancel_stops_an_apply_that_would_run_for_ever(browser_page, models):
    page = browser_page
    sidebar = _sidebar(page)
    sidebar.get_by_text("Server path", exact=True).click()
    sidebar.get_by_role("textbox", name="Path on the server").fill(str(models["loop_forever"]))
    sidebar.get_by_role("button", name="Load path").click()
    sidebar.get_by_text("Loaded:").wait_for()
    sidebar.get_by_role("link", name="Edit").click()
    key_box = page.get_by_role("textbox", name="Key name")
    key_box.fill("k")
    key_box.press("Enter")
    _wait_until_idle(page)
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("verifying: original and result side by side").wait_for()  # the model now loops in its workers
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Apply was cancelled: nothing was written.").wait_for()
    _wait_until_idle(page)
    _shot(page, "12-edit-cancelled", page.get_by_text("Apply was cancelled"))
    assert not page.locator('[data-testid="stException"]').count()


SESSIONS = 8


def test_eight_sessions_upload_and_apply_at_once_without_cross_talk(browser, server, samples, tmp_path):
    """Eight tabs (eight sessions) each upload a model and Apply their own key at the same
    time; each gets back its own verified model and nothing of the others'."""
    archive = tmp_path / "house_price.tar.gz"
    write_archive(samples / "house_price", archive, root="export/house_price")
    pages = []
    for _ in range(SESSIONS):
        page = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True).new_page()
        page.set_default_timeout(STEP_MS)
        page.goto(server)
        pages.append(page)
    for page in pages:  # every tab uploads before any applies
        page.get_by_text("serving_default", exact=True).first.wait_for()
        sidebar = _sidebar(page)
        sidebar.get_by_text("Upload", exact=True).click()
        sidebar.locator('input[type="file"]').set_input_files(str(archive))
    for index, page in enumerate(pages):
        _sidebar(page).get_by_text("Loaded: house_price.tar.gz").wait_for()
        _wait_until_idle(page)
        _sidebar(page).get_by_role("link", name="Edit").click()
        key_box = page.get_by_role("textbox", name="Key name")
        key_box.fill(f"key_of_tab_{index}")
        key_box.press("Enter")
        page.get_by_text("Signatures after the rewrite").wait_for()
        _wait_until_idle(page)
        page.get_by_role("button", name="Apply").click()
    for index, page in enumerate(pages):
        page.get_by_text("Verification report").wait_for()
        _wait_until_idle(page)
        assert not page.locator('[data-testid="stException"]').count()
        with page.expect_download() as download_info:
            page.get_by_role("button", name=re.compile(r"^Download .*\.zip$")).click()
        downloaded = tmp_path / f"tab-{index}.zip"
        download_info.value.save_as(downloaded)
        assert f"key-key_of_tab_{index}_" in download_info.value.suggested_filename
        unpacked = tmp_path / f"tab-{index}"
        zipfile.ZipFile(downloaded).extractall(unpacked)
        inputs = inspect_model(unpacked).signatures["serving_default"].inputs
        assert sorted(inputs) == sorted(["rooms", "tax_rate", f"key_of_tab_{index}"]), "its own key, no other tab's"
    _shot(pages[-1], "13-eighth-of-eight-sessions", pages[-1].get_by_text("Verification report"))
    for page in pages:
        page.context.close()


def _pick_sample(page, name: str) -> None:
    sidebar = _sidebar(page)
    sidebar.get_by_text("Sample", exact=True).click()
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Sample model").click()
    page.get_by_role("option", name=name).click()
    sidebar.get_by_text(f"{name} (sample)").wait_for()
    _wait_until_idle(page)


def _batch_tab(page):
    _sidebar(page).get_by_role("link", name="Try").click()
    page.get_by_role("tab", name="Batch run (Apache Beam)").click()
    _wait_until_idle(page)
    return page.locator('[data-testid="stFileUploaderDropzoneInput"]').last


def test_strangers_path_batch_then_other_models_then_back_and_every_page_at_1440(browser, server, tmp_path):
    """The sequence that crashed the Try page (a batch on A, then B, a TF1 model, A again), a
    CSV header the model does not take (said at once, naming the upload), and every page at
    1440×900 for a look."""
    page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    _shot(page, "20-inspect-1440")
    sidebar = _sidebar(page)

    rows = tmp_path / "loan20.csv"
    rows.write_text("rooms,tax_rate\n3,0.1\n4,0.2\n")
    _batch_tab(page).set_input_files(str(rows))
    _wait_until_idle(page)
    page.get_by_role("button", name="Run batch").click()
    page.get_by_text("loan20.csv: 2 rows: 2 predicted, 0 rejected").wait_for()
    _wait_until_idle(page)

    _pick_sample(page, "vocab_lookup")
    sidebar.get_by_text("Server path", exact=True).click()
    sidebar.get_by_role("textbox", name="Path on the server").fill("sample_models/tf1_half_plus_two")
    sidebar.get_by_role("button", name="Load path").click()
    sidebar.get_by_text("TF Serving version 123").wait_for()
    _wait_until_idle(page)
    _pick_sample(page, "house_price")
    uploader = _batch_tab(page)
    assert not page.locator('[data-testid="stException"]').count()
    assert not page.get_by_text("Something went wrong").count()
    assert not page.get_by_text("loan20.csv: 2 rows").count(), "the old run went with its files"
    assert not page.get_by_role("button", name="Download results (JSON lines)").count()

    wrong = tmp_path / "wrong_header.csv"
    wrong.write_text("rooms,tax\n3,0.1\n")
    uploader.set_input_files(str(wrong))
    _wait_until_idle(page)
    page.get_by_role("button", name="Run batch").click()
    refusal = page.get_by_text("wrong_header.csv: the CSV header lacks ['tax_rate']")
    refusal.wait_for(timeout=10_000)  # before any pipeline starts
    assert "signature-studio-session" not in refusal.inner_text(), "no server path in a message"
    _shot(page, "21-try-batch-header-refused", refusal)

    _edit_and_apply(page, "instance_key")
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    box = page.get_by_role("button", name="Apply").bounding_box()
    assert box is not None and 0 <= box["y"] < 900, f"Apply and its verdict stay in view, not at the bottom: {box}"
    _shot(page, "22-edit-1440")
    sidebar.get_by_role("link", name="Compare").click()
    _wait_until_idle(page)
    _shot(page, "23-compare-1440")
    _try_request(page)
    _shot(page, "24-try-1440")
    assert not page.locator('[data-testid="stException"]').count()
    page.close()


def _load_path(page, path: str) -> None:
    sidebar = _sidebar(page)
    sidebar.get_by_text("Server path", exact=True).click()
    sidebar.get_by_role("textbox", name="Path on the server").fill(path)
    sidebar.get_by_role("button", name="Load path").click()
    sidebar.get_by_text("Loaded:").wait_for()
    _wait_until_idle(page)


def test_rename_and_cast_inputs_then_serve_a_function_of_a_model_without_signatures(browser, server, models):
    """The editor's input edits in the browser: rename an input and take another in float64,
    Apply, see the rename in Compare, and Try the new names; then give a model saved without
    signatures one from its function, and Try it."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    sidebar = _sidebar(page)
    sidebar.get_by_role("link", name="Edit").click()
    page.get_by_text("Rename inputs, or take them in another dtype").click()
    name_box = page.get_by_role("textbox", name="New name for input rooms")
    name_box.fill("n_rooms")
    name_box.press("Enter")
    _wait_until_idle(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="tax_rate sent as").get_by_role("combobox").click()
    page.keyboard.type("float64")  # the list shows its first options only: type to pick the last
    page.get_by_role("option", name="float64", exact=True).click()
    _wait_until_idle(page)
    page.get_by_text("clients send 'tax_rate' as float64").wait_for()
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    _shot(page, "25-edit-rename-cast", page.get_by_text("Verification report"))
    sidebar.get_by_role("link", name="Compare").click()
    page.get_by_text("rooms → n_rooms").wait_for(state="attached")  # a cell of the diff's grid
    _wait_until_idle(page)
    _shot(page, "26-compare-renamed-input")
    _try_request(page)
    response = _response(page).inner_text()
    assert '"predictions"' in response and "n_rooms" in page.get_by_role("textbox", name=re.compile("Request body")).input_value()
    _shot(page, "27-try-renamed", _response(page))

    _load_path(page, str(models["module_without_signatures"]))
    sidebar.get_by_role("link", name="Edit").click()
    page.get_by_text("Function to serve as a signature").wait_for()
    key_box = page.get_by_role("textbox", name="Key name")
    key_box.fill("id")
    key_box.press("Enter")
    _wait_until_idle(page)
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    page.get_by_text("Signature 'serving_default' written").wait_for()
    _shot(page, "28-edit-from-function", page.get_by_text("Verification report"))
    _try_request(page)
    assert '"scores"' in _response(page).inner_text() and '"id": "row-0"' in _response(page).inner_text()
    _shot(page, "29-try-from-function", _response(page))
    assert not page.locator('[data-testid="stException"]').count()
    page.close()


def test_compare_against_a_served_models_metadata_says_what_breaks_its_clients(browser, server, samples, tmp_path):
    from core.savedmodel.contract import serving_metadata
    from core.savedmodel.handle import read_saved_model

    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(serving_metadata(read_saved_model(samples / "house_price").meta_graph, model_name="price")))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    _edit_and_apply(page, "id")
    page.get_by_text("Verification report").wait_for()
    _wait_until_idle(page)
    _sidebar(page).get_by_role("link", name="Compare").click()
    page.get_by_text("A served model's metadata vs this model").click()
    _wait_until_idle(page)
    page.locator('input[type="file"]').set_input_files(str(metadata))
    page.get_by_text("Breaking for clients: input 'id' added.").wait_for()
    page.get_by_text("clients must now send it").wait_for()
    _wait_until_idle(page)
    _shot(page, "30-compare-served-metadata")
    assert not page.locator('[data-testid="stException"]').count()
    page.close()


def test_tf_servings_own_model_gets_a_raw_feature_signature_in_the_browser(browser, server, models):
    """TF Serving's TF2 half_plus_two, whose regress signature parses tf.Examples: Edit takes
    its feature as a tensor beside it, Apply verifies, Compare shows the Example input gone and
    the feature added, and Try answers the new signature from plain JSON values."""
    model = models["tf_serving_half_plus_two_tf2_cpu"]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(STEP_MS)
    page.goto(server)
    page.get_by_text("serving_default", exact=True).first.wait_for()
    _wait_until_idle(page)
    _load_path(page, str(model.parent))
    _sidebar(page).get_by_role("link", name="Edit").click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Base signature").get_by_role("combobox").click()
    page.get_by_role("option", name="regress_x_to_y", exact=True).click()
    _wait_until_idle(page)
    page.get_by_text("Take the tf.Example features as tensors (raw features)").click()
    page.get_by_text("takes the features 'x' (float32 [-1, 1]) where 'regress_x_to_y' takes serialized tf.Examples").wait_for()
    _wait_until_idle(page)
    assert page.get_by_role("textbox", name="New signature name").input_value() == "regress_x_to_y_raw"
    key_box = page.get_by_role("textbox", name="Key name")
    key_box.fill("id")
    key_box.press("Enter")
    _wait_until_idle(page)
    _shot(page, "31-edit-raw-features-chosen", page.get_by_text("Take the tf.Example features as tensors"))
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Verification report").wait_for()
    page.get_by_text("Signature 'regress_x_to_y_raw' written and verified").wait_for()
    _wait_until_idle(page)
    _shot(page, "32-edit-raw-features-applied", page.get_by_text("Verification report"))
    _sidebar(page).get_by_role("link", name="Compare").click()
    page.get_by_text("Signature B (rewritten)").wait_for()
    _wait_until_idle(page)
    _shot(page, "33-compare-raw-features")
    _try_request(page)
    response = json.loads(_response(page).inner_text())
    assert response == {"predictions": [{"id": "row-0", "outputs": [2.5]}, {"id": "row-1", "outputs": [3.0]}]}
    _shot(page, "34-try-raw-features", _response(page))
    assert not page.locator('[data-testid="stException"]').count()
    page.close()
