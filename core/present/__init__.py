"""Presenting what core returns: the shared words, tables (text for the CLI, DataFrames for the
UI) and the CLI's text blocks."""
