from __future__ import annotations

from django.urls import path

from .records import achievement_records

urlpatterns = [path("numbers/records/", achievement_records, name="achievement_records")]
