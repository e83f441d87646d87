"""The long-lived heap of a started process, kept out of the garbage collector's way.

A request builds thousands of short-lived objects (a slot search reads thousands of
busy intervals); every so many allocations CPython runs a collection, and now and then a
full one that walks every tracked object, including the hundred thousand and more the
process made while starting (modules, the app, SQLAlchemy's mappers and caches) and never
frees. Those full collections are what made a search's slowest 5% about three times its
median. Once started, the process collects what is garbage and freezes the rest
(:func:`gc.freeze`): collections skip it from then on, and everything made later is
collected as before. Called by ``wsgi.py`` (gunicorn workers, the ``flask`` commands and
workers), not by ``create_app`` (a test run creates apps by the hundred).
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect, then move every surviving object to the permanent generation; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
