"""The operations the HTTP API offers, between the handlers and the domain (chain, store).

Each operation takes parsed input, does what the runner does for it and returns a model, or raises one of the
typed errors in `errors.py`; the handlers map those to HTTP answers. The app factory builds the services.
"""
