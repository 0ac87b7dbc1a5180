"""Plumbing every app may use: no models, and no import of any app (``tests/test_layers.py``)."""
