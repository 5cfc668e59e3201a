"""The command-line front end: ``python -m core inspect|rewrite|diff`` (``main``)."""
