FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# The dependencies first, from pyproject.toml alone, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
# Then the whole project (what .dockerignore leaves out aside): a new app is never left behind.
# The code runs from /app, where manage.py and gunicorn find it.
COPY . .
# With DEBUG off pages name static files through collectstatic's manifest; without it the
# app refuses to start (system check goals.E001).
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input

RUN useradd --system --uid 1000 goals && mkdir -p /app/var && chown goals /app/var
USER goals
EXPOSE 8000
CMD ["gunicorn", "goals_project.wsgi", "--config", "gunicorn.conf.py"]
