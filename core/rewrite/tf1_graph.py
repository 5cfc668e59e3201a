"""The TF1 graph engine: rewrite a signature by editing the MetaGraphDef, nothing else.

The planned SignatureDef (``signature_def``: a placeholder for the key, ``Identity`` nodes for
echoed and forwarded tensors) replaces the SignatureDef map's entries as planned; variables,
assets, other MetaGraphs and every other signature are copied byte for byte. Re-saving such a
model through ``tf.saved_model.save`` would leave its ref variables uninitialised at inference.

Example:
    >>> import tempfile
    >>> from core.rewrite.plan import plan_rewrite
    >>> from core.rewrite.request import RewriteRequest
    >>> from core.rewrite.signature_def import planned_signature_def
    >>> from core.savedmodel.handle import read_saved_model
    >>> source = read_saved_model(Path("sample_models/tf1_half_plus_two/00000123"))
    >>> plan = plan_rewrite(source.info, RewriteRequest(key="k"))
    >>> saved_model = source.proto_copy()
    >>> result_def = planned_signature_def(saved_model.meta_graphs[source.meta_graph_index], plan)
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     rewrite_graph_model(source, plan, saved_model, result_def, Path(scratch, "out"))
    ...     sorted(read_saved_model(Path(scratch, "out")).info.signatures["serving_default"].outputs)
    ['k', 'y']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.rewrite.plan import RewritePlan
from core.rewrite.proto_edit import replace_signature_defs, write_edited_model
from core.savedmodel.handle import ModelHandle


def rewrite_graph_model(source: ModelHandle, plan: RewritePlan, saved_model: Any, result_def: Any, output_dir: Path) -> None:
    """Write ``saved_model`` (the source's proto, already holding the nodes ``result_def``
    reads) with the planned signatures into the new folder ``output_dir``."""
    meta_graph = saved_model.meta_graphs[source.meta_graph_index]
    replace_signature_defs(meta_graph, plan.kept_signatures, plan.result_name, result_def)
    write_edited_model(source.path, output_dir, saved_model)
