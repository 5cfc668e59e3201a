"""One SavedModel folder, parsed once: the proto, the serving MetaGraph, its format, what
``inspect`` reports, the tf.Example features it parses and its variables.

Rewrite, verify and serve all take a ``ModelHandle`` instead of reading the folder again.
Parts that cost more than the proto (the checkpoint index, the example spec, the info) are
read on first use and kept.

Example:
    >>> from pathlib import Path
    >>> handle = read_saved_model(Path("sample_models/house_price"))
    >>> handle.format.value, sorted(handle.info.signatures["serving_default"].inputs)
    ('tf2', ['rooms', 'tax_rate'])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from core.errors import ModelSourceError, describe
from core.savedmodel.checkpoint import VariableSpec, missing_checkpoint, read_variable_specs, summarize_variables
from core.savedmodel.dataflow import graph_widths, index_inputs
from core.savedmodel.example_parse import example_parses
from core.savedmodel.examples import ExampleSpec, example_inputs, read_example_spec
from core.savedmodel.function_signatures import function_signatures
from core.savedmodel.functions import InputHints, embedding_rows, object_graph_functions, traced_shapes
from core.savedmodel.info import ModelInfo, signature_info
from core.savedmodel.ops import scan_ops, used_ops
from core.savedmodel.proto import (
    ASSETS_DIR,
    ASSETS_EXTRA_DIR,
    SAVED_MODEL_PB,
    SERVING_TAG,
    ModelFormat,
    copy_message,
    list_files,
    read_saved_model_proto,
    serving_meta_graph_index,
)
from core.savedmodel.revival import find_optimizer_state
from core.savedmodel.warmup import warmup_summary


@dataclass(frozen=True)
class ModelHandle:
    """A parsed SavedModel folder. ``proto`` is shared: copy it (``proto_copy``) before editing."""

    path: Path
    display: str
    version: int | None
    proto: Any
    meta_graph_index: int

    @property
    def meta_graph(self) -> Any:
        """The MetaGraphDef that serving uses."""
        return self.proto.meta_graphs[self.meta_graph_index]

    @property
    def format(self) -> ModelFormat:
        return ModelFormat.TF2 if self.meta_graph.HasField("object_graph_def") else ModelFormat.TF1

    @property
    def serving_tags(self) -> list[str]:
        """The tag-set to load for serving (needed when a model holds several MetaGraphs)."""
        return list(self.meta_graph.meta_info_def.tags) or [SERVING_TAG]

    def proto_copy(self) -> Any:
        """A private copy of the SavedModel proto, to edit."""
        return copy_message(self.proto)

    @cached_property
    def variable_specs(self) -> dict[str, VariableSpec]:
        return read_variable_specs(self.path, display=self.display)

    @cached_property
    def example_spec(self) -> ExampleSpec:
        return read_example_spec(self.meta_graph)

    @cached_property
    def input_hints(self) -> InputHints:
        """What the model's files say of the values its inputs accept (traced shapes, id limits,
        inputs that index a table)."""
        tensors = [spec.tensor_name for signature in self.info.signatures.values() for spec in signature.inputs.values()]
        return InputHints(
            traced_shapes(self.meta_graph),
            embedding_rows(self.variable_specs),
            frozenset(index_inputs(self.meta_graph, tensors)),
            graph_widths(self.meta_graph, tensors),
        )

    def example_inputs(self, signature: str) -> list[str]:
        """The inputs of ``signature`` that take serialized tf.Examples (by its method, a parse
        in the graph, or one inside the functions it calls, as TF2 models parse)."""
        found = example_inputs(self.meta_graph, self.info.signatures[signature])
        parse = self.info.example_parses.get(signature)
        return found + [parse.example_input] if parse is not None and parse.example_input not in found else found

    @cached_property
    def info(self) -> ModelInfo:
        """Everything ``inspect`` reports, read from the proto and the checkpoint index."""
        meta_graph = self.meta_graph
        ops = used_ops(meta_graph)
        unsafe = scan_ops(meta_graph)
        return ModelInfo(
            path=self.display,
            version=self.version,
            format=self.format,
            tensorflow_version=meta_graph.meta_info_def.tensorflow_version,
            tag_sets=[sorted(meta.meta_info_def.tags) for meta in self.proto.meta_graphs],
            signatures={name: signature_info(name, meta_graph.signature_def[name]) for name in sorted(meta_graph.signature_def)},
            assets=list_files(self.path / ASSETS_DIR),
            assets_extra=list_files(self.path / ASSETS_EXTRA_DIR),
            variables=summarize_variables(self.variable_specs),
            ops=sorted(ops),
            unsafe_ops=list(unsafe),
            unsafe_op_reasons=unsafe,
            optimizers=find_optimizer_state(meta_graph),
            functions=tuple(object_graph_functions(meta_graph)),
            function_signatures=function_signatures(meta_graph),
            warmup=warmup_summary(self.path),
            example_parses=example_parses(meta_graph),
            missing_checkpoint=missing_checkpoint(self.path, meta_graph),
        )


def read_saved_model(model_dir: Path, *, display: str | None = None, version: int | None = None) -> ModelHandle:
    """Parse the SavedModel in ``model_dir`` once (use ``core.savedmodel.open_model`` for archives).

    Args:
        display: the name to report and to use in messages (the user's source, not a temporary folder).
        version: the TF Serving version folder this model came from, if any.

    Raises:
        ModelSourceError: not a SavedModel, or unreadable.
    """
    shown = display if display is not None else str(model_dir)
    proto = read_saved_model_proto(model_dir, display=shown)
    handle = ModelHandle(model_dir, shown, version, proto, serving_meta_graph_index(proto, display=shown))
    try:
        handle.info  # noqa: B018 - read now: a proto that parsed may still be garbage
    except ModelSourceError:
        raise
    except Exception as err:  # whatever a crafted or damaged proto makes the reader trip on
        raise ModelSourceError(
            f"{shown}: {SAVED_MODEL_PB} is not a valid SavedModel ({describe(err, names={model_dir: shown})})"
        ) from err
    return handle


def read_model_info(model_dir: Path, *, display: str | None = None, version: int | None = None) -> ModelInfo:
    """Describe the SavedModel in ``model_dir`` without loading its variables.

    Example:
        >>> read_model_info(Path("sample_models/tf1_half_plus_two/00000123")).format.value
        'tf1'
    """
    return read_saved_model(model_dir, display=display, version=version).info
