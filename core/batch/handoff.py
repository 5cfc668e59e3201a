"""Hand-off files for one model and signature: what TF Serving, Vertex AI batch prediction and
Beam runners at scale need to serve or run it as the Studio did.

``handoff_files`` returns the files as text (``export-config`` writes them, the Studio zips
them): a TF Serving ``models.config`` and batching parameters matching the version layout, a
``curl`` request against the REST API, a Vertex AI batch prediction job whose
``instanceConfig`` keeps the signature's inputs, and the ``predict`` commands for Dataflow,
Flink and Spark. A ``keyField`` that would strip an input the signature requires is a warning.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_saved_model
    >>> handoff = handoff_files(read_saved_model(Path("sample_models/house_price")), key_field="rooms")
    >>> sorted(handoff.files)  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'batching_parameters.txt', 'models.config', 'request.json', 'request.sh',
     'vertex_batch_prediction.json']
    >>> handoff.warnings[0][:60]
    "Vertex AI removes keyField 'rooms' from each instance before"
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import OutputError, PlanError
from core.rewrite.publish import Staging
from core.rewrite.request import DEFAULT_SIGNATURE
from core.savedmodel.handle import ModelHandle
from core.savedmodel.info import SignatureInfo, require_signature
from core.serve.rest import example_request, request_text

CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
DEFAULT_PORT = 8501
DEFAULT_MAX_BATCH = 1024
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Handoff:
    """The files (name → text) and the warnings a user must read before using them."""

    model_name: str
    signature: str
    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def fixed_batch_size(signature: SignatureInfo) -> int | None:
    """The batch size every input of ``signature`` fixes (its first dimension), or None.

    Example:
        >>> from core.savedmodel.info import TensorSpecInfo
        >>> spec = TensorSpecInfo("float32", (8, 3), "x:0")
        >>> fixed_batch_size(SignatureInfo("s", "tensorflow/serving/predict", False, {"x": spec}, {}))
        8
    """
    sizes = {spec.shape[0] for spec in signature.inputs.values() if spec.shape and spec.shape[0] > 0}
    return sizes.pop() if len(sizes) == 1 else None


def _models_config(name: str, base_path: str, version: int) -> str:
    return (
        "model_config_list {\n"
        "  config {\n"
        f"    name: {json.dumps(name)}\n"
        f"    base_path: {json.dumps(base_path)}\n"
        '    model_platform: "tensorflow"\n'
        "    model_version_policy {\n"
        "      specific {\n"
        f"        versions: {version}\n"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def _batching_parameters(batch: int | None, warnings: list[str], signature: SignatureInfo) -> str:
    lines = [
        f"max_batch_size {{ value: {batch or DEFAULT_MAX_BATCH} }}",
        "batch_timeout_micros { value: 2000 }",
        "max_enqueued_batches { value: 100 }",
        "num_batch_threads { value: 4 }",
    ]
    if batch is not None:
        lines.append(f"allowed_batch_sizes: {batch}")  # every batch padded to the size the model takes
        if batch == 1:
            warnings.append(
                f"signature '{signature.name}' takes batches of exactly 1 row: TF Serving's batching cannot merge "
                "requests for it; re-export the model with a variable batch dimension to batch"
            )
    return "\n".join(lines) + "\n"


def _example_value(dtype: str, shape: tuple[int, ...]) -> Any:
    count = 1
    for dim in shape:
        count *= max(dim, 1)
    value: Any = "text" if dtype == "string" else (1 if dtype.startswith("int") else 1.0)
    return value if count == 1 else [value] * count


def _rest_request(handle: ModelHandle, signature: SignatureInfo) -> tuple[str, dict[str, Any]]:
    """(REST verb, body): ``:classify``/``:regress`` take JSON examples; everything else ``:predict``."""
    if signature.method_name in (CLASSIFY, REGRESS):
        spec = handle.example_spec
        example = {name: _example_value(dtype, shape) for name, (dtype, shape) in spec.dense.items()}
        example.update({name: _example_value(dtype, ()) for name, dtype in spec.sparse.items()})
        verb = "classify" if signature.method_name == CLASSIFY else "regress"
        return verb, {"signature_name": signature.name, "examples": [example, example]}
    body = example_request(signature, example_spec=handle.example_spec, example_inputs=handle.example_inputs(signature.name))
    return "predict", body


def _vertex_job(name: str, signature: SignatureInfo, key_field: str | None, warnings: list[str]) -> dict[str, Any]:
    instance_config: dict[str, Any] = {"instanceType": "object", "includedFields": sorted(signature.inputs)}
    if key_field:
        instance_config["keyField"] = key_field
        if key_field in signature.inputs:
            warnings.append(
                f"Vertex AI removes keyField '{key_field}' from each instance before the model sees it, but signature "
                f"'{signature.name}' requires the input '{key_field}': every request would fail. Leave keyField unset "
                "(a model keyed by the Studio returns its key input as an output of the same name) or name a field "
                "that is not an input"
            )
        else:
            instance_config["includedFields"] = sorted(set(signature.inputs) - {key_field})
    return {
        "displayName": f"{name} batch prediction",
        "model": "projects/PROJECT/locations/REGION/models/MODEL_ID",
        "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://BUCKET/rows/*.jsonl"]}},
        "instanceConfig": instance_config,
        "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://BUCKET/predictions/"}},
        "dedicatedResources": {
            "machineSpec": {"machineType": "n1-standard-4"},
            "startingReplicaCount": 1,
            "maxReplicaCount": 4,
        },
    }


def runner_commands(
    model_uri: str, signature: str, *, key_column: str | None, input_pattern: str, output_dir: str
) -> dict[str, str]:
    """The ``predict`` command for each runner at scale (Dataflow, Flink, Spark), for one model and signature.

    Example:
        >>> print(runner_commands("gs://b/m", "serving_default", key_column="id", input_pattern="gs://b/in/*.csv",
        ...                       output_dir="gs://b/out")["Dataflow"])  # doctest: +ELLIPSIS
        python -m core predict gs://b/m 'gs://b/in/*.csv' gs://b/out --signature serving_default --key-column id -- \\
          --runner DataflowRunner --project PROJECT --region REGION --temp_location gs://BUCKET/tmp ...
    """
    head = ["python", "-m", "core", "predict", model_uri, input_pattern, output_dir, "--signature", signature]
    if key_column:
        head += ["--key-column", key_column]
    common = shlex.join(head) + " -- \\\n  "
    ship = "--setup_file ./pyproject.toml"
    return {
        "Dataflow": common + "--runner DataflowRunner --project PROJECT --region REGION --temp_location gs://BUCKET/tmp " + ship,
        "Flink": common + "--runner FlinkRunner --flink_master FLINK_HOST:8081 --environment_type DOCKER " + ship,
        "Spark": common + "--runner SparkRunner --spark_master_url spark://SPARK_HOST:7077 --environment_type DOCKER " + ship,
    }


def handoff_files(
    handle: ModelHandle,
    *,
    signature: str = DEFAULT_SIGNATURE,
    model_name: str | None = None,
    base_path: str | None = None,
    key_field: str | None = None,
    port: int = DEFAULT_PORT,
) -> Handoff:
    """Everything to serve ``signature`` of ``handle`` on TF Serving and to run it in batch.

    ``model_name`` defaults to the model folder's name; ``base_path`` (TF Serving's folder of
    version folders) to ``/models/<name>``; the version is the one read from a TF Serving layout,
    else 1. ``key_field``: the field Vertex AI should treat as the instance key.

    Raises:
        PlanError: an unknown signature (with the valid names), or a name TF Serving does not take.
    """
    info = handle.info
    require_signature(info, signature)
    name = model_name or re.sub(r"[^A-Za-z0-9_.-]", "_", handle.path.name if handle.version is None else handle.path.parent.name)
    if not _MODEL_NAME.match(name):
        raise PlanError(f"'{name}' is not a model name TF Serving takes: letters, digits, '_', '.', '-' (up to 128)")
    chosen = info.signatures[signature]
    version = handle.version if handle.version is not None else 1
    base = base_path or f"/models/{name}"
    warnings: list[str] = []
    verb, body = _rest_request(handle, chosen)
    url = f"http://localhost:{port}/v1/models/{name}:{verb}"
    commands = runner_commands(
        f"gs://BUCKET/models/{name}/{version}", signature, key_column=key_field,
        input_pattern="gs://BUCKET/rows/*.csv", output_dir="gs://BUCKET/predictions",
    )  # fmt: skip
    files = {
        "models.config": _models_config(name, base, version),
        "batching_parameters.txt": _batching_parameters(fixed_batch_size(chosen), warnings, chosen),
        "request.json": request_text(body) + "\n",
        "request.sh": (
            "#!/bin/sh\n# The served signatures, then one request to the REST API.\n"
            f"curl -sS http://localhost:{port}/v1/models/{name}/metadata\n"
            f"curl -sS -X POST {url} -H 'Content-Type: application/json' -d @request.json\n"
        ),
        "vertex_batch_prediction.json": json.dumps(_vertex_job(name, chosen, key_field, warnings), indent=2) + "\n",
    }
    files["README.md"] = _readme(name, base, version, signature, verb, commands, warnings)
    return Handoff(name, signature, files, warnings)


def _readme(name: str, base: str, version: int, signature: str, verb: str, commands: dict[str, str], warnings: list[str]) -> str:
    lines = [
        f"# Serving and batch prediction for `{name}`, signature `{signature}`",
        "",
        "## TF Serving",
        "",
        f"Put the model at `{base}/{version}/` (the folder holding `saved_model.pb`), then:",
        "",
        "```",
        f'docker run --rm -p 8501:8501 -v "$PWD/{name}:{base}" -v "$PWD:/config" tensorflow/serving \\',
        "  --model_config_file=/config/models.config \\",
        "  --enable_batching --batching_parameters_file=/config/batching_parameters.txt",
        "sh request.sh",
        "```",
        "",
        f"`request.sh` asks for the served signatures and sends `request.json` to `:{verb}`.",
        "",
        "## Vertex AI batch prediction",
        "",
        "`vertex_batch_prediction.json` is a `BatchPredictionJob` body: replace PROJECT, REGION, MODEL_ID and BUCKET.",
        "Its `instanceConfig` sends exactly the signature's inputs to the model.",
        "",
        "## Apache Beam at scale",
        "",
        "Run these from a Signature Studio checkout: Beam builds the project from its `pyproject.toml` and installs it",
        "on every worker (`pip install build` once). Model, input and output must be paths the workers can read.",
        "",
    ]
    for runner, command in commands.items():
        lines += [f"{runner}:", "", "```", command, "```", ""]
    if warnings:
        lines += ["## Warnings", ""] + [f"- {warning}" for warning in warnings] + [""]
    return "\n".join(lines)


def write_handoff(handoff: Handoff, folder: Path) -> list[Path]:
    """Write the files into ``folder``, which must be new or empty; all of them or none.

    Raises:
        OutputError: ``folder`` is a file or holds anything already.
    """
    if folder.is_symlink() or (folder.exists() and (not folder.is_dir() or any(folder.iterdir()))):
        raise OutputError(f"{folder} exists and is not an empty folder; choose a new folder for the hand-off files")
    with Staging(folder) as staging:
        for name, text in handoff.files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if folder.exists():
            folder.rmdir()
        os.replace(staging, folder)
    return [folder / name for name in handoff.files]


ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry


def handoff_zip(handoff: Handoff) -> bytes:
    """The hand-off files as one zip, in a folder named after the model and signature.

    Example:
        >>> import io, zipfile
        >>> files = zipfile.ZipFile(io.BytesIO(handoff_zip(Handoff("m", "s", {"a.txt": "x"})))).namelist()
        >>> files
        ['m_s_handoff/a.txt']
        >>> handoff_zip(Handoff("m", "s", {"a.txt": "x"})) == handoff_zip(Handoff("m", "s", {"a.txt": "x"}))
        True
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in handoff.files.items():
            # A fixed date: the same files make the same bytes on every run of the page, so the
            # download a browser fetches is still the one the page offered after a rerun.
            entry = zipfile.ZipInfo(f"{handoff.model_name}_{handoff.signature}_handoff/{name}", date_time=ZIP_DATE)
            archive.writestr(entry, text, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
