"""Edit: choose a base signature, a key, inputs to forward and output names; preview the
result (a picture and tables) with its validation inline; Apply (rewrite + verification, in
the background, with Cancel); download the verified model while the choices still match it."""

import streamlit as st

from core.errors import PlanError, StudioError
from core.present.words import escape_markdown, shape_text, unsafe_ops_warning
from core.rewrite.plan import RewritePlan, plan_rewrite
from core.rewrite.request import NOTHING_TO_DO, RewriteRequest
from core.studio.jobs import JobState
from core.studio.session import StudioSession
from pages.common import Message, page_start, say, widget_key
from pages.edit_choices import choose_request
from pages.edit_result import job_outcome, verdict, verified_result, watch_apply
from pages.signature_view import render_signature


def planned(session: StudioSession, request: RewriteRequest, *, warmup: bool) -> RewritePlan | None:
    """The plan of ``request`` (and new warmup requests), or None with why there is none (nothing asked, or a refusal)."""
    if request.changes_nothing and not warmup:
        say(Message.INFO, f"Nothing to rewrite yet: {NOTHING_TO_DO.removeprefix('the plan changes nothing; ')}.")
        return None
    try:
        return plan_rewrite(session.model.handle.info, request, new_warmup=warmup)
    except PlanError as err:
        say(Message.ERROR, str(err))
        return None


def preview(session: StudioSession, request: RewriteRequest, plan: RewritePlan, *, warmup: bool) -> None:
    """The result as it would be, and the original (picture and tables, one tab each)."""
    for note in plan.notes + session.warmup_notes(plan, warmup=warmup):
        say(Message.INFO, note)
    st.caption(f"Signatures after the rewrite: {escape_markdown(', '.join(plan.final_signatures))}")
    if plan.key is not None:
        key_spec = plan.result.inputs[plan.key]
        st.caption(
            f"The key `{plan.key}` ({key_spec.dtype}, shape {shape_text(key_spec.shape)}) takes one value per row of "
            "the batch and comes back unchanged as the output of the same name, so every prediction carries its row's key."
        )
    result_tab, original_tab = st.tabs(["Preview: result", "Original"])
    with result_tab:
        render_signature(plan.result, stacked=True, plan=plan)
    with original_tab:  # the base signature as the model has it (Examples and all), or the function served
        original = session.model.handle.info.signatures[request.signature] if request.raw_features else plan.base
        render_signature(original, stacked=True)


def warmup_choice(session: StudioSession, request: RewriteRequest) -> bool:
    """Whether to write Try's last request as the result's TF Serving warmup request (offered
    once Try has answered one for the base signature)."""
    # Try's requests to a signature that parses tf.Examples send Examples, not the raw features.
    usable = not request.from_function and not request.raw_features
    rows = session.try_rows(session.model, request.signature) if usable else {}
    return st.checkbox(
        "Add warmup requests from Try's requests",
        key=widget_key("edit_warmup", session.model.digest),
        disabled=not rows,
        help="Writes Try's last JSON request to the base signature as the result's warmup request in "
        "assets.extra/tf_serving_warmup_requests, which TF Serving replays when it loads the model; verification "
        "reads the file back and runs it. Run a request on the Try page first.",
    ) and bool(rows)


def consent(session: StudioSession) -> bool:
    """For a model with unsafe ops: the user's say-so to run it (rewriting and verifying do)."""
    info = session.model.handle.info
    if not info.unsafe_ops:
        return True
    say(Message.WARNING, unsafe_ops_warning(info, "Apply runs it to rewrite and verify it."))
    return st.checkbox("I trust this model: run it to rewrite and verify", key=widget_key("edit_consent", session.model.digest))


session, model = page_start("Edit")
# The choices on the left; on the right, where the eye goes next, Apply with its progress and
# outcome above the preview; the full report and the download below both.
choices_column, action_column = st.columns([2, 3], gap="large")
with choices_column:
    request = choose_request(session, session.drafts.get(model.digest))
    session.drafts[model.digest] = request
    allowed = consent(session)
    warmup = warmup_choice(session, request)
with action_column:
    plan = planned(session, request, warmup=warmup)
    job = session.job
    running = job is not None and job.running
    if st.button("Apply", type="primary", disabled=plan is None or running or not allowed, key="edit_apply"):
        try:
            job, running = session.start_apply(request, allow_unsafe_ops=allowed, warmup=warmup), True
        except StudioError as err:
            say(Message.ERROR, str(err))
    if running:
        watch_apply(job, model.digest)
    elif session.rewrite_matches(request, warmup=warmup):
        verdict(session)
    elif job is not None and job.state is not JobState.DONE and session.job_matches(request, warmup=warmup):
        job_outcome(job)
    elif session.rewrite is not None:
        say(
            Message.INFO,
            f"The choices changed since the last Apply (signature '{session.rewrite.result.plan.result_name}'), "
            "so that rewrite is not offered for download. Apply again to rewrite with these choices.",
        )
    if plan is not None:
        preview(session, request, plan, warmup=warmup)
if not running and session.rewrite_matches(request, warmup=warmup):
    verified_result(session)
