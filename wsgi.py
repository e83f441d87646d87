"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

from scheduler import create_app
from scheduler.heap import freeze_startup_heap

app = create_app()
freeze_startup_heap()  # the started process's objects stay out of every collection
