from __future__ import annotations

from django.urls import path

from .records import achievement_records
from .views import pipeline

urlpatterns = [
    path("numbers/records/", achievement_records, name="achievement_records"),
    path("records/pipeline/", pipeline, name="pipeline"),
]
