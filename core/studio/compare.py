"""The Compare page's choices without Streamlit: what is compared with what (a deployment too,
from its TF Serving metadata), the signature each side starts on, and which renames a diff is
told about (only a rewrite's plan knows which it renamed: tensor names cannot tell across TF2
signatures).

Example:
    >>> [mode.value for mode in CompareMode][:3]
    ['Original vs rewritten', 'Two signatures of this model', 'This model vs another upload']
    >>> CompareMode.SERVED.value
    "A served model's metadata vs this model"
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from enum import StrEnum

from core.rewrite.plan import RewritePlan
from core.rewrite.request import DEFAULT_SIGNATURE
from core.savedmodel.contract import read_serving_metadata
from core.savedmodel.diff import SignatureDiff, diff_signatures
from core.savedmodel.info import ModelInfo


class CompareMode(StrEnum):
    """What the page compares."""

    ORIGINAL_VS_REWRITTEN = "Original vs rewritten"
    TWO_SIGNATURES = "Two signatures of this model"
    OTHER_UPLOAD = "This model vs another upload"
    SERVED = "A served model's metadata vs this model"


@dataclass(frozen=True)
class CompareSide:
    """One side of the comparison: a model (by digest), what to call it, and the signature it
    starts on (None: the first one the other side is not on)."""

    label: str
    digest: str
    info: ModelInfo
    default: str | None

    def default_signature(self, avoid: str | None = None) -> str:
        """The signature this side starts on: its default where the model has it, else the
        first public one other than ``avoid`` (the other side's, on the same model)."""
        names = self.info.public_signatures
        if self.default in names:
            return self.default
        return next((name for name in names if name != avoid), names[0])


def served_side(filename: str, data: bytes, like: ModelInfo) -> CompareSide:
    """The side of a deployment, from the TF Serving metadata JSON it answers
    (``GET /v1/models/NAME/metadata``): its public signatures.

    Raises:
        InputDataError: the file is not TF Serving's metadata (what was expected).
    """
    served = read_serving_metadata(data.decode("utf-8", errors="replace"), filename)
    digest = hashlib.sha256(data).hexdigest()
    return CompareSide(f"served: {filename}", digest, replace(like, path=filename, signatures=served), DEFAULT_SIGNATURE)


def base_side(label: str, digest: str, info: ModelInfo, plan: RewritePlan) -> CompareSide:
    """The original model's side, on the plan's base: its signature, or the function the
    rewrite serves (shown as the signature it would be)."""
    if plan.request.from_function:
        info = replace(info, signatures={**info.signatures, plan.base.name: plan.base})
    return CompareSide(label, digest, info, plan.base.name)


@dataclass(frozen=True)
class Comparison:
    """Two chosen signatures, and what a rewrite made of the loaded model (``plan`` and the
    digests of the original and the rewritten model; no plan before a rewrite)."""

    left: CompareSide
    left_name: str
    right: CompareSide
    right_name: str
    model_digest: str
    plan: RewritePlan | None = None
    rewrite_digest: str | None = None

    def on_rewritten(self, side: CompareSide) -> bool:
        return self.plan is not None and side.digest == self.rewrite_digest

    def _is_base(self, side: CompareSide, name: str) -> bool:
        """The base signature as it was: in the original model, or kept in the rewritten one."""
        if self.plan is None:
            return False
        original = side.digest == self.model_digest and name == self.plan.base.name
        return original or (self.on_rewritten(side) and name == self.plan.request.keep_original)

    def _is_result(self, side: CompareSide, name: str) -> bool:
        return self.on_rewritten(side) and name == self.plan.result_name

    def _plan_renames(self, renames: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """Old → new names the diff treats as renames: the plan's, when one side is the base
        signature and the other the rewrite's result (reversed when the result is on the left)."""
        if self.plan is None:
            return {}
        if self._is_base(self.left, self.left_name) and self._is_result(self.right, self.right_name):
            return dict(renames)
        if self._is_result(self.left, self.left_name) and self._is_base(self.right, self.right_name):
            return {new: old for old, new in renames}
        return {}

    def renamed_outputs(self) -> dict[str, str]:
        return self._plan_renames(self.plan.request.rename_outputs) if self.plan else {}

    def renamed_inputs(self) -> dict[str, str]:
        return self._plan_renames(self.plan.request.rename_inputs) if self.plan else {}

    def diff(self) -> SignatureDiff:
        """The row-by-row difference of the two signatures."""
        return diff_signatures(
            self.left.info.signatures[self.left_name],
            self.right.info.signatures[self.right_name],
            renamed_outputs=self.renamed_outputs(),
            renamed_inputs=self.renamed_inputs(),
            same_model=self.left.digest == self.right.digest,
        )
