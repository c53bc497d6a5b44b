"""gunicorn settings shared by every way the app is served: the production image, docker-compose,
the load test and the fault tests all start gunicorn in this folder, where it reads this file.
Options given on the command line (workers, bind, logs) still apply."""

import gc


def post_worker_init(worker):
    """Once a worker has loaded the app, set the objects that live as long as the process
    (modules, classes, URL patterns, settings) apart from the garbage collector: a full
    collection would otherwise walk all of them (~190,000 objects, a ~70 ms pause that some
    request pays every few hundred requests)."""
    gc.collect()
    gc.freeze()
    worker.log.info("Loaded code set apart from the garbage collector (%d objects)", gc.get_freeze_count())
