"""Subscribers: user code and webhooks that react to every lifecycle event, delivered at least once.

``api`` (the ``@subscriber`` decorator), ``registry`` (discovery, like strategies), ``cursors`` (the
delivery state machine over ``batch_delivery``, fed from the event log by per-subscriber cursors),
``webhooks`` (signing and POSTing), ``deliver`` (the worker's delivery thread) and ``manage`` (what the
CLI shows and changes).
"""
