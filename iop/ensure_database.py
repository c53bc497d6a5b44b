"""Create the PostgreSQL database a ``DATABASE_URL`` names if it does not exist yet.

``python -m iop.ensure_database [URL]`` (default: ``$DATABASE_URL``). Used by ``make seed-scale``
and CI on a fresh machine; a SQLite URL needs nothing and is left alone.
"""

from __future__ import annotations

import os
import sys

import environ
import psycopg2
from psycopg2 import sql


def ensure_database(url: str) -> bool:
    """True when the database was created, False when it was already there (or is not PostgreSQL)."""
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        return False
    name = config["NAME"]
    conn = psycopg2.connect(
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ["DATABASE_URL"]
    if ensure_database(target):
        print("created database", environ.Env.db_url_config(target)["NAME"])
