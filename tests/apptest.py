"""Helpers for driving the Studio under Streamlit's ``AppTest``: open it, switch pages, find
widgets by their labels, read messages as the user reads them, and wait for Apply."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from core.sources.archive import write_archive
from tests.conftest import ROOT

TIMEOUT = 180
ENTRY = ROOT / "tests" / "studio_app.py"


def open_app() -> AppTest:
    """The Studio under AppTest, run through ``tests/studio_app.py`` (see there why)."""
    return AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)


def switch_to(at: AppTest, page: str) -> AppTest:
    """Switch to ``pages/<page>.py`` and run it."""
    return at.switch_page(f"../pages/{page}.py").run()


def plain(markdown: str) -> str:
    """Markdown source as the reader sees it (escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(elements) -> list[str]:
    """The plain text of each element (messages, captions, markdown)."""
    return [plain(element.value) for element in elements]


def joined(elements) -> str:
    return "\n".join(texts(elements))


def widget(at: AppTest, kind: str, label: str, *, sidebar: bool = False):
    """The widget of ``kind`` (``text_input``, ``checkbox``, …) labelled ``label``."""
    root = at.sidebar if sidebar else at
    found = [element for element in getattr(root, kind) if element.label == label]
    assert found, f"no {kind} labelled {label!r}; have {[element.label for element in getattr(root, kind)]}"
    return found[0]


def uploader(at: AppTest, label: str):
    """The file uploader labelled ``label``."""
    found = [element for element in at.get("file_uploader") if element.label == label]
    assert found, f"no file uploader labelled {label!r}; have {[element.label for element in at.get('file_uploader')]}"
    return found[0]


CSV_UPLOADER = "Upload a CSV whose columns are the inputs"


def responses(at: AppTest) -> list[str]:
    """The JSON responses shown on the Try page (its other code blocks are commands)."""
    return [block.value for block in at.code if block.language == "json"]


def tables(at: AppTest, column: str) -> list:
    """The tables on the page that have ``column``: interactive ones in page order, then static
    ones (whose index counts as a column)."""
    frames = [element.value for element in [*at.dataframe, *at.table]]
    frames = [frame.reset_index() if frame.index.name else frame for frame in frames]
    return [frame for frame in frames if column in frame.columns]


def session_of(at: AppTest):
    return at.session_state["studio"]


def wait_for_apply(at: AppTest, timeout: float = 300) -> AppTest:
    """Let the running Apply finish, then run the page as its poll would."""
    job = session_of(at).job
    assert job is not None, "no Apply was started"
    job.wait(timeout)
    assert not job.running, f"Apply still running after {timeout} s"
    return at.run()


def apply_now(at: AppTest) -> AppTest:
    """Click Apply on the Edit page and wait for the result."""
    widget(at, "button", "Apply").click().run()
    assert not at.exception
    return wait_for_apply(at)


def load_server_path(at: AppTest, path: str) -> AppTest:
    widget(at, "radio", "Source", sidebar=True).set_value("Server path").run()
    widget(at, "text_input", "Path on the server", sidebar=True).input(path)
    widget(at, "button", "Load path", sidebar=True).click().run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    widget(at, "radio", "Source", sidebar=True).set_value("Upload").run()
    at.sidebar.get("file_uploader")[0].set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception
    return at


def archive_bytes(folder, suffix: str, tmp_path) -> bytes:
    archive = tmp_path / f"upload{suffix}"
    write_archive(folder, archive, root="my_model")
    return archive.read_bytes()


def key_rewrite(at: AppTest, key: str = "instance_key", *, forward: str | None = "tax_rate") -> AppTest:
    """On the Edit page: tick ``forward`` and type ``key``."""
    switch_to(at, "edit")
    if forward is not None:
        widget(at, "checkbox", forward).check().run()
    widget(at, "text_input", "Key name").input(key).run()
    assert not at.exception and not at.error, texts(at.error)
    return at
