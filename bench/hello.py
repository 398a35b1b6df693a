"""The plain Flask "hello world" app that sets the ceiling for gunicorn on this machine.

Served under the same gunicorn settings as Peiling (`gunicorn bench.hello:app`), it shows
what the web server, WSGI and Flask cost on their own, so that Peiling's submissions per
second can be given as a ratio that does not depend on the machine.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
