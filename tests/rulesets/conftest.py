from __future__ import annotations

from tests.crm.conftest import crm  # noqa: F401  (the CRM set-up rules are measured on)
