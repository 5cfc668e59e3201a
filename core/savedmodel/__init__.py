"""Reading SavedModels: sources and safe archives, Keras files, the proto, one parsed handle
(``handle.read_saved_model``), inspection data, the checkpoint index, op scans and signature
diffs. Nothing here runs a model. Import the modules themselves."""
