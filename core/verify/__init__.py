"""Verification: structure checks on the files, behaviour checks through both loaders (in
workers), gathered in a report (``verifier.verify_rewrite``). Import the modules themselves."""
