"""Serving user input: TF Serving REST bodies (``rest``), CSV batches (``tabular``) and the
values on the wire (``values``), run in a worker as TF Serving would. Import the modules themselves."""
