"""The sample app of the real tier: a git repository whose Dockerfile builds on the Python base image,
a migration that creates a table through DATABASE_URL, and an HTTP server (Python's standard library,
RESP over a socket for redis, Debian's psycopg2 for postgres) whose answer shows both were reached."""

from __future__ import annotations

import json

DOCKERFILE = """FROM {base}
COPY app.py migrate.py /app/
# a RUN step: the build executes a command inside the base image (its PostgreSQL driver is there)
RUN python3 -c "import psycopg2; open('/app/built-by', 'w').write('kaniko')"
CMD ["python3", "/app/app.py"]
"""

MIGRATE = """import os

import psycopg2

connection = psycopg2.connect(os.environ["DATABASE_URL"])
with connection, connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS greetings (id serial PRIMARY KEY, text text NOT NULL)")
    cursor.execute("INSERT INTO greetings (text) VALUES (%s)", ({greeting},))
connection.close()
print("migration: created table greetings", flush=True)
"""

APP = """import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2


def redis(*args):
    # RESP: an array of bulk strings; the reply's first line is enough for AUTH and INCR
    with socket.create_connection((os.environ["REDIS_HOST"], int(os.environ["REDIS_PORT"])), timeout=5) as conn:
        stream = conn.makefile("rwb")
        replies = []
        for command in (("AUTH", os.environ["REDIS_PASSWORD"]), args):
            parts = [part.encode() for part in command]
            stream.write(b"*%d\\r\\n" % len(parts) + b"".join(b"$%d\\r\\n%s\\r\\n" % (len(p), p) for p in parts))
            stream.flush()
            replies.append(stream.readline().decode().strip())
    if replies[0] != "+OK":
        raise RuntimeError("redis refused AUTH: " + replies[0])
    return replies[1]


def greetings():
    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT text FROM greetings ORDER BY id")
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"visits": int(redis("INCR", "visits").lstrip(":")), "greetings": greetings(),
                           "built_by": open("/app/built-by").read()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
"""


def files(base: str, greeting: str) -> dict[str, str]:
    """The repository's files: `base` is the Python image as Kaniko reaches it, `greeting` what the
    migration writes into its table."""
    return {"Dockerfile": DOCKERFILE.format(base=base), "app.py": APP,
            "migrate.py": MIGRATE.replace("{greeting}", json.dumps(greeting))}


PLAIN_DOCKERFILE = """FROM {base}
COPY app.py /app/app.py
RUN python3 -c "open('/app/built-by', 'w').write('a RUN step')"
CMD ["python3", "/app/app.py"]
"""

PLAIN_APP = """import json
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"marker": "{marker}", "built_by": open("/app/built-by").read()}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", 8080), Handler).serve_forever()
"""
PLAIN_ANSWER_BUILT_BY = "a RUN step"


def plain_files(base: str, marker: str) -> dict[str, str]:
    """An app without dependencies: it answers with `marker` and what its Dockerfile's RUN step wrote."""
    return {"Dockerfile": PLAIN_DOCKERFILE.format(base=base), "app.py": PLAIN_APP.format(marker=marker)}
