"""WSGI entry point: `gunicorn wsgi:app`."""

from peiling import create_app

app = create_app()
