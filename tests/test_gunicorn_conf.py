"""The gunicorn settings file the image, docker-compose and the load test share."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(msg % args)


class _Worker:
    log = _Log()


def test_a_worker_sets_its_loaded_code_apart_from_the_collector():
    hooks = runpy.run_path(str(CONF))
    worker = _Worker()
    try:
        hooks["post_worker_init"](worker)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 1000
    assert worker.log.lines == [f"Loaded code set apart from the garbage collector ({frozen} objects)"]
