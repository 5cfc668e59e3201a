"""A picture of a signature, as Graphviz DOT text: inputs → model → outputs.

For a planned rewrite, the key and the forwarded inputs pass by the model on edges of their
own colour, and renamed outputs say what they were. Streamlit draws DOT text with
``st.graphviz_chart``; nothing else is needed.

Example:
    >>> from pathlib import Path
    >>> from core.savedmodel.handle import read_model_info
    >>> dot = signature_diagram(read_model_info(Path("sample_models/house_price")).signatures["serving_default"])
    >>> dot.splitlines()[0], "rooms" in dot, "output_0" in dot
    ('digraph signature {', True, True)
"""

from __future__ import annotations

from core.present.words import shape_text
from core.rewrite.plan import OutputKind, RewritePlan
from core.savedmodel.info import SignatureInfo, TensorSpecInfo

KEY_COLOUR = "#e8710a"
FORWARD_COLOUR = "#1a73e8"
MODEL_COLOUR = "#5f6368"
MOST_SHOWN = 24  # per side; wide models get one "… N more" box instead of the rest


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(name: str, spec: TensorSpecInfo, note: str = "") -> str:
    lines = [name, f"{spec.dtype} {shape_text(spec.shape)}"] + ([note] if note else [])
    return _quote("\n".join(lines))


def _shown(names: list[str]) -> tuple[list[str], int]:
    return names[:MOST_SHOWN], max(0, len(names) - MOST_SHOWN)


def _input_note(name: str, base: str | None, plan: RewritePlan | None) -> str:
    """What a result input was: ``was rooms``, ``cast to float32``."""
    if plan is None or base is None:
        return ""
    said = [f"was {base}"] if base != name else []
    if base in plan.casts:
        said.append(f"cast to {plan.base.inputs[base].dtype}")
    return ", ".join(said)


def signature_diagram(signature: SignatureInfo, *, plan: RewritePlan | None = None) -> str:
    """DOT text for ``signature``; with ``plan`` (whose result it is), the key and forwards pass by."""
    sources = plan.output_sources if plan is not None and signature.name == plan.result_name else {}
    key = plan.key if sources else None
    lines = [
        "digraph signature {",
        '  rankdir=LR; bgcolor="transparent"; nodesep=0.15; ranksep=0.6;',
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];',
        '  edge [color="#9aa0a6", arrowsize=0.6];',
        f'  model [label={_quote(signature.name)}, shape=box3d, style="filled", fillcolor="#f1f3f4", color="{MODEL_COLOUR}"];',
    ]
    inputs, more_inputs = _shown(list(signature.inputs))
    outputs, more_outputs = _shown(list(signature.outputs))
    input_ids = {name: f"in{index}" for index, name in enumerate(inputs)}
    output_ids = {name: f"out{index}" for index, name in enumerate(outputs)}
    fed = plan.input_sources if sources else {}
    for name, node in input_ids.items():
        is_key = name == key
        colour = f', color="{KEY_COLOUR}", fontcolor="{KEY_COLOUR}"' if is_key else ""
        note = "key" if is_key else _input_note(name, fed.get(name), plan)
        lines.append(f"  {node} [label={_label(name, signature.inputs[name], note)}{colour}];")
        if not is_key:
            lines.append(f"  {node} -> model;")
    for name, node in output_ids.items():
        source = sources.get(name)
        note, colour = "", ""
        if source is not None and source.kind is OutputKind.KEY:
            note, colour = "key, echoed", f', color="{KEY_COLOUR}", fontcolor="{KEY_COLOUR}"'
        elif source is not None and source.kind is OutputKind.INPUT:
            note = "forwarded" if source.name == name else f"forwarded from {source.name}"
            colour = f', color="{FORWARD_COLOUR}", fontcolor="{FORWARD_COLOUR}"'
        elif source is not None and source.name != name:
            note = f"was {source.name}"
        lines.append(f"  {node} [label={_label(name, signature.outputs[name], note)}{colour}];")
        if source is None or source.kind is OutputKind.OUTPUT:
            lines.append(f"  model -> {node};")
        elif source.name in input_ids:
            edge_colour = KEY_COLOUR if source.kind is OutputKind.KEY else FORWARD_COLOUR
            lines.append(f'  {input_ids[source.name]} -> {node} [color="{edge_colour}", penwidth=1.6, style=dashed];')
    if more_inputs:
        lines += [f'  more_in [label="… {more_inputs} more inputs", style="dashed"];', "  more_in -> model;"]
    if more_outputs:
        lines += [f'  more_out [label="… {more_outputs} more outputs", style="dashed"];', "  model -> more_out;"]
    lines.append("}")
    return "\n".join(lines)
