"""The Admin HTTP API of ``batchctl serve``: Medusa v1's batch-job routes over the public client.

``create_app(jobs)`` (in ``app``) builds the ASGI application; nothing in the rest of batchctl imports this
package, and it imports FastAPI only in the modules that need it (``query`` and ``body`` are plain Python).
"""
