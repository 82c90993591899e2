"""Export toolchain (needs the `export` and `train` extras): torch -> ONNX -> simplify -> quantize -> verify.

Each step is a function that takes and returns a path and logs its seconds and size.
"""
