FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY goals_project ./goals_project
COPY hierarchy ./hierarchy
COPY crm ./crm
COPY rulesets ./rulesets
COPY goals ./goals
COPY achievements ./achievements
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input

RUN useradd --system --uid 1000 goals && mkdir -p /app/var && chown goals /app/var
USER goals
EXPOSE 8000
CMD ["gunicorn", "goals_project.wsgi", "--config", "gunicorn.conf.py"]
