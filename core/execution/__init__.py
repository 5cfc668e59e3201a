"""Running model code: TensorFlow's two loaders, and giving memory back afterwards."""

from core.execution.loaders import Loader, ModelRuns, RunResult, ServingModel, load_for_serving, run_models, serving_loader

__all__ = ["Loader", "ModelRuns", "RunResult", "ServingModel", "load_for_serving", "run_models", "serving_loader"]
