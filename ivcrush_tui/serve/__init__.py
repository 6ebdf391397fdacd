"""`ivcrush serve`: the engine unattended, with loopback HTTP endpoints.

One module per job: `schedule` (when the next scan runs), `loop` (the scans and the latest
analyses), `metrics` (the Prometheus registry), `http` (a small bounded HTTP/1.1 server on
asyncio), `app` (the routes and the wiring, until a stop signal). Nothing here imports Textual.
"""
