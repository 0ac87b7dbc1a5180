from __future__ import annotations

from django.urls import path

from .breakdowns import rule_breakdown_view
from .records import achievement_records
from .trends import rule_trend_view
from .views import pipeline

urlpatterns = [
    path("numbers/records/", achievement_records, name="achievement_records"),
    path("numbers/breakdown/", rule_breakdown_view, name="rule_breakdown"),
    path("numbers/trend/", rule_trend_view, name="rule_trend"),
    path("records/pipeline/", pipeline, name="pipeline"),
]
