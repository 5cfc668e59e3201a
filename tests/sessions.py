"""Driving a ``StudioSession`` from a test as the pages do: Apply as a background job, waited for."""

from __future__ import annotations

from core.rewrite.request import RewriteRequest
from core.studio.applying import AppliedRewrite
from core.studio.session import StudioSession

APPLY_SECONDS = 600


def apply_in_session(session: StudioSession, request: RewriteRequest, *, allow_unsafe_ops: bool = False) -> AppliedRewrite:
    """Start Apply of ``request``, wait for it, and return the rewrite it handed over.

    Raises:
        StudioError: what the job failed with (a refused plan, a failed verification).
    """
    job = session.start_apply(request, allow_unsafe_ops=allow_unsafe_ops).wait(APPLY_SECONDS)
    assert not job.running, f"Apply did not end within {APPLY_SECONDS} s"
    if job.error is not None:
        raise job.error
    assert session.rewrite is not None and session.rewrite.request == request
    return session.rewrite
