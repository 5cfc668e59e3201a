"""Serving user input: TF Serving REST bodies and CSV batches, as TF Serving would answer."""

from core.serve.rest import RestRequest, example_request, format_rest_response, parse_rest_request
from core.serve.tabular import read_csv_batch, results_as_jsonl, run_in_batches

__all__ = [
    "RestRequest",
    "example_request",
    "format_rest_response",
    "parse_rest_request",
    "read_csv_batch",
    "results_as_jsonl",
    "run_in_batches",
]
