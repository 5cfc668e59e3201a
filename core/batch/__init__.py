"""Batch prediction on Apache Beam: files of rows through one signature, keyed results out."""
