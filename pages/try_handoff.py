"""What runs or serves a model at scale, on the Try page: the batch command for Dataflow,
Flink and Spark, and the hand-off files for TF Serving and Vertex AI."""

import streamlit as st

from core.batch.handoff import handoff_files, handoff_zip, runner_commands
from core.errors import StudioError
from core.savedmodel.handle import ModelHandle
from pages.common import Message, say, widget_key


def render_at_scale(handle: ModelHandle, signature: str, stem: str, key_column: str | None) -> None:
    """The expander with the commands and the hand-off download for ``signature`` of ``handle``."""
    with st.expander("Run it at scale: Dataflow, Flink, Spark; serve it: TF Serving, Vertex AI"):
        st.caption(
            "The same pipeline on a cluster: copy the model and the rows where the workers can read them "
            "(gs://BUCKET/… below), run from a checkout of Signature Studio."
        )
        commands = runner_commands(
            f"gs://BUCKET/models/{stem}", signature, key_column=key_column,
            input_pattern="gs://BUCKET/rows/*.csv", output_dir="gs://BUCKET/predictions",
        )  # fmt: skip
        for runner, command in commands.items():
            st.markdown(f"**{runner}**")
            st.code(command, language="bash", wrap_lines=True)
        try:
            handoff = handoff_files(handle, signature=signature, model_name=stem, key_field=key_column)
        except StudioError as err:
            say(Message.ERROR, str(err))
            return
        for warning in handoff.warnings:
            say(Message.WARNING, warning)
        st.download_button(
            "Download the hand-off files (TF Serving config, batching, curl request, Vertex AI job)",
            handoff_zip(handoff),
            f"{handoff.model_name}_{signature}_handoff.zip",
            "application/zip",
            key=widget_key("try_batch_handoff", stem, signature),
            on_click="ignore",
        )
