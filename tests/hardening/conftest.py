from __future__ import annotations

from tests.crm.conftest import crm  # noqa: F401  (the CRM set-up of tenant A)
from tests.goals.conftest import org  # noqa: F401  (its organization and ruleset)
