from __future__ import annotations

from django.urls import path

from . import views
from .listings import LISTINGS

# A record's page has a name per kind ("record_page_tasks"): its id names a row of one table.
urlpatterns = [
    path("<slug:kind>/", views.record_list, name="record_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    *(
        path(f"{kind}/<int:pk>/", views.record_page, {"kind": kind}, name=f"record_page_{kind}")
        for kind, listing in LISTINGS.items()
        if listing.kind
    ),
]
