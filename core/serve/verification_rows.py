"""Real rows to verify a rewrite with, from what the user has: a file (a TF Serving REST
request, JSON lines of instances, or CSV), Try's last request, or the model's TF Serving
warmup requests. Each becomes the batch fed to one signature, named for the report.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> info = read_model_info(Path("sample_models/house_price"))
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     rows = Path(scratch, "rows.csv")
    ...     _ = rows.write_text("rooms,tax_rate\\n3,0.1\\n4,0.2\\n")
    ...     batches = read_rows_file(rows, info.signatures, "serving_default")
    >>> batches["serving_default"].origin, batches["serving_default"].feeds["rooms"].shape
    ('2 rows of rows.csv', (2, 1))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputDataError
from core.savedmodel.info import SignatureInfo
from core.savedmodel.warmup import WARMUP_FILE, WarmupRequest
from core.serve.rest import parse_rest_request
from core.serve.tabular import read_csv_batch

ROWS_FILE_FORMATS = "a TF Serving REST request (.json), JSON lines of instances (.jsonl) or CSV with a header (.csv)"
MAX_ROWS_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RealRows:
    """Rows for one signature and where they came from (``2 rows of rows.csv``)."""

    feeds: dict[str, np.ndarray]
    origin: str


def _fed(feeds: dict[str, np.ndarray], origin: str) -> RealRows:
    return RealRows(feeds, f"{_rows(feeds)} rows of {origin}")


def _rows(feeds: dict) -> int:
    return len(next(iter(feeds.values()))) if feeds else 0


def rows_from_request(body: str, signatures: dict[str, SignatureInfo], origin: str) -> dict[str, RealRows]:
    """The batch of one TF Serving REST request body, for the signature it names.

    Raises:
        InputDataError: the body does not fit the model (TF Serving's rules, see ``parse_rest_request``).
    """
    request = parse_rest_request(body, signatures)
    return {request.signature: _fed(request.feeds, origin)}


def read_rows_file(
    path: Path, signatures: dict[str, SignatureInfo], signature: str, *, flag: str = "--verify-with"
) -> dict[str, RealRows]:
    """The batch in ``path`` for ``signature`` (a REST request may name another signature).

    Raises:
        InputDataError: an unknown format, a file too large or unreadable, or rows that do not
            fit the signature; the message names the file and what was expected.
    """
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv"):
        raise InputDataError(f"{flag} {name}: cannot tell its format; give {ROWS_FILE_FORMATS}")
    try:
        if path.stat().st_size > MAX_ROWS_FILE_BYTES:
            raise InputDataError(f"{flag} {name}: over {MAX_ROWS_FILE_BYTES // (1024 * 1024)} MiB; a few rows are enough")
        data = path.read_bytes()
    except OSError as err:
        raise InputDataError(f"{flag} {name} cannot be read ({err.strerror})") from err
    try:
        if suffix == ".csv":
            feeds = read_csv_batch(data, signatures[signature])
            return {signature: _fed(feeds, name)}
        text = data.decode("utf-8")
        if suffix == ".json":
            return rows_from_request(text, signatures, name)
        instances = [json.loads(line) for line in text.splitlines() if line.strip()]
        body = {"signature_name": signature, "instances": instances}
        return rows_from_request(json.dumps(body), signatures, name)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputDataError(f"{flag} {name} is not valid {suffix[1:].upper()} text ({err})") from err
    except InputDataError as err:
        raise InputDataError(f"{flag} {name}: {err}") from err


def rows_from_warmup(requests: list[WarmupRequest], signatures: dict[str, SignatureInfo]) -> dict[str, RealRows]:
    """The first warmup request of each signature whose inputs are exactly the signature's."""
    batches: dict[str, RealRows] = {}
    for number, request in enumerate(requests, start=1):
        signature = signatures.get(request.signature)
        if signature is None or request.signature in batches or set(request.feeds) != set(signature.inputs):
            continue
        batches[request.signature] = _fed(request.feeds, f"warmup request {number} ({WARMUP_FILE})")
    return batches
