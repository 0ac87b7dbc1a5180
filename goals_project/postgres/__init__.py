"""PostgreSQL with row-level security that follows the django-scopes scope (ENGINE)."""
