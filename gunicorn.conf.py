"""gunicorn settings for the web process (read from the working directory by gunicorn).

Every value comes from the environment so that one image fits every machine:
WEB_CONCURRENCY (default: cores + 1), PORT (8000), GUNICORN_TIMEOUT (30 s).

A page is CPU work in Python (the database answers in a fraction of it), so more worker
processes than cores only queue the same work on the same cores, costing memory and switching;
one more than the cores covers the moments a worker waits for PostgreSQL. Measured with
``manage.py bench_load`` (20 clients, 2 cores, PostgreSQL on the same machine): 3 sync workers
answered as many requests a second as 5 did, each with less CPU. Sync workers keep the
waiting in the listen queue, first come first served, where threads sharing one interpreter
lock made some requests wait several times longer than others. Put a buffering proxy (nginx)
in front, as gunicorn advises for sync workers, so slow clients never hold a worker.
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so no leak can grow unbounded; not so often that starting a
# worker again (importing Django, a cold process) is a noticeable share of the work.
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
