"""Running model code: the worker processes (sandboxed, warm, limited) and what runs inside
them — TensorFlow's two loaders. Import the modules themselves: ``pool`` and ``workers`` are
light, ``loaders`` imports TensorFlow."""
