"""Rewriting: the request and its one builder (``request``), the checked plan (``plan``), the
TF1 graph and TF2 object-graph engines that edit protos and the TF2 load/save fallback
(``apply`` picks one), and publishing the result (``publish``). Import the modules themselves."""
