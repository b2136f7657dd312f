"""One module per figure: each exposes functions ``(backend, options) -> list[Figure]`` that run.py lists."""
