"""The task queues users would pick instead of batchctl, each run its recommended way (the ``peers`` figure)."""
