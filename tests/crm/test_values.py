"""Values as CRM exports write them: clock durations and the spellings of yes and no, on the
API's path (records) and the CSV import's alike."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.ingest import BOOLEANS, records_import, records_upsert, records_validate
from crm.models import Activity, Lead
from crm.timeparse import DURATION_FORMATS, parse_duration
from tests.conftest import Crm

pytestmark = pytest.mark.django_db

DB_EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def hh_mm_ss(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@given(st.integers(min_value=0, max_value=10**7))
def test_it_reads_back_a_duration_written_as_hh_mm_ss_or_mm_ss(seconds: int):
    assert parse_duration(hh_mm_ss(seconds)) == seconds
    assert parse_duration(f" {seconds // 60}:{seconds % 60:02d} ") == seconds


@given(st.text(max_size=12))
def test_it_reads_any_text_as_a_duration_or_refuses_it_plainly(text: str):
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        assert str(exc) == f"{text!r} is not a duration: use {DURATION_FORMATS}"
    else:
        assert seconds >= 0 and ":" in text


@pytest.mark.parametrize(
    ("sent", "seconds"),
    [("90", 90), (75, 75), ("01:30", 90), ("1:02:03", 3723), ("90:00", 5400), (" 0:00:05 ", 5)],
)
def test_it_accepts_seconds_and_clock_durations(crm: Crm, sent: Any, seconds: int):
    records_upsert(
        tenant=crm.tenant, entity="activity", records=[crm.activity(duration_seconds=sent)]
    )
    with scope(tenant=crm.tenant):
        assert Activity.objects.get().duration_seconds == seconds


@pytest.mark.parametrize(
    "sent", ["1:5", "1:60", "1:00:60", "1:2:3:4", "-1:00", "1:30.5", "1h", "1.5"]
)
def test_it_refuses_an_ambiguous_duration_naming_the_field(crm: Crm, sent: str):
    [problem] = records_validate(
        tenant=crm.tenant, entity="activity", records=[crm.activity(duration_seconds=sent)]
    )
    assert problem.field == "duration_seconds"
    assert problem.message == f"duration_seconds {sent!r} is not a duration: use {DURATION_FORMATS}"


def spellings(word: str) -> st.SearchStrategy[str]:
    """The word in any case, with spaces around it."""
    cases = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    pad = st.sampled_from(["", " ", "  ", "\t"])
    return st.builds(
        lambda upper, left, right: (
            left + "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True)) + right
        ),
        cases,
        pad,
        pad,
    )


@DB_EXAMPLES
@given(st.sampled_from(sorted(BOOLEANS)).flatmap(lambda w: st.tuples(st.just(w), spellings(w))))
def test_it_reads_yes_and_no_in_every_spelling_exports_use(crm: Crm, word_and_sent):
    word, sent = word_and_sent
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead(attributes={"vip": sent})])
    with scope(tenant=crm.tenant):
        assert Lead.objects.get().attributes["vip"] is (word in ("yes", "y", "true", "1"))


@DB_EXAMPLES
@given(st.text(min_size=1, max_size=8).filter(lambda t: t.strip().lower() not in BOOLEANS))
def test_it_refuses_anything_else_as_yes_or_no(crm: Crm, sent: str):
    problems = records_validate(
        tenant=crm.tenant, entity="lead", records=[crm.lead(attributes={"vip": sent})]
    )
    if sent.strip() and "\x00" not in sent:
        [problem] = problems
        assert problem.field == "attributes.vip"
        assert problem.message.endswith("is not yes or no: use yes/no, y/n, true/false or 1/0")


def test_it_reads_the_same_values_from_a_csv_file(crm: Crm):
    csv = (
        "external_id,owner_email,type,occurred_at,duration_seconds\n"
        f"A-1,{crm.rep_email},Call,2025-03-03 10:00,00:02:05\n"
        f"A-2,{crm.rep_email},Call,2025-03-03 11:00,4:30\n"
    )
    records_import(tenant=crm.tenant, entity="activity", file=io.StringIO(csv))
    leads = (
        "external_id,owner_email,name,vip\n"
        f"L-1,{crm.rep_email},Ada,Y\n"
        f"L-2,{crm.rep_email},Bob, n \n"
    )
    records_import(tenant=crm.tenant, entity="lead", file=io.StringIO(leads))
    with scope(tenant=crm.tenant):
        durations = dict(Activity.objects.values_list("external_id", "duration_seconds"))
        flags = {lead.external_id: lead.attributes["vip"] for lead in Lead.objects.all()}
    assert durations == {"A-1": 125, "A-2": 270}
    assert flags == {"L-1": True, "L-2": False}
