"""Side-by-side reference: MediaPipe Selfie Segmentation (raw .tflite in LiteRT), in its own venv.

mediapipe needs numpy<2 and protobuf<5, so the reference runs in a separate virtual environment
(benchmarks/.mpref/venv) that `setup_env.ensure_env` creates. `reference.run_reference` drives
`runner.py` inside it and returns plain dicts.
"""
