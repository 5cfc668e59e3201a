"""Reading SavedModels: sources and safe archives, the proto, one parsed handle, inspection
data, the checkpoint index, op scans and signature diffs. Nothing here runs a model."""

from core.savedmodel.archive import ArchiveLimits
from core.savedmodel.diff import Change, SignatureDiff, diff_signatures
from core.savedmodel.handle import ModelHandle, read_model_info, read_saved_model
from core.savedmodel.info import ModelInfo, SignatureInfo, TensorSpecInfo
from core.savedmodel.proto import ModelFormat
from core.savedmodel.source import ModelSource, open_model, stage_model

__all__ = [
    "ArchiveLimits",
    "Change",
    "ModelFormat",
    "ModelHandle",
    "ModelInfo",
    "ModelSource",
    "SignatureDiff",
    "SignatureInfo",
    "TensorSpecInfo",
    "diff_signatures",
    "open_model",
    "read_model_info",
    "read_saved_model",
    "stage_model",
]
