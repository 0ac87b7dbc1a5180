"""gunicorn settings for the web process (read from the working directory by gunicorn).

Every value comes from the environment so that one image fits every machine:
WEB_CONCURRENCY (default: 2 x cores + 1), PORT (8000), GUNICORN_TIMEOUT (30 s).
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then so no leak can grow unbounded
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
