"""Target distribution: exact splits, clear refusals, and a tree whose shares always add up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from goals.distribution import (
    COUNT_QUANTUM,
    CURRENCY_QUANTUM,
    OWN,
    DistributionError,
    LevelSplit,
    distribute,
    largest_remainder,
    personal_targets,
    phase,
    split_custom,
    split_equal,
    split_percentages,
)

COUNT = COUNT_QUANTUM
CENT = CURRENCY_QUANTUM
D = Decimal

quanta = st.sampled_from([COUNT, CENT])
weights = st.lists(
    st.integers(0, 10_000).map(lambda hundredths: D(hundredths) / 100), min_size=1, max_size=12
).filter(any)


def cuts(draw: st.DrawFn, units: int, parts: int) -> list[int]:
    """``parts`` non-negative whole numbers adding up to ``units``."""
    points = sorted(draw(st.lists(st.integers(0, units), min_size=parts - 1, max_size=parts - 1)))
    return [high - low for low, high in zip([0, *points], [*points, units], strict=True)]


@settings(max_examples=300)
@given(units=st.integers(0, 10**7), quantum=quanta, weight_list=weights)
def test_it_splits_exactly_in_proportion(
    units: int, quantum: Decimal, weight_list: list[Decimal]
) -> None:
    total = units * quantum
    keyed = {f"member-{index}": weight for index, weight in enumerate(weight_list)}

    shares = largest_remainder(total, keyed, quantum)

    assert list(shares) == list(keyed)
    assert sum(shares.values()) == total
    weight_sum = sum(weight_list)
    for key, share in shares.items():
        assert share % quantum == 0
        assert abs(share - total * keyed[key] / weight_sum) < quantum
        if keyed[key] == 0:
            assert share == 0


def test_it_gives_leftover_units_to_the_largest_remainders_then_to_the_first_keys() -> None:
    assert largest_remainder(D(10), {"a": D(1), "b": D(1), "c": D(1)}, COUNT) == {
        "a": D(4),
        "b": D(3),
        "c": D(3),
    }
    assert largest_remainder(D(100), {"a": D(1), "b": D(1), "c": D(1)}, CENT) == {
        "a": D("33.34"),
        "b": D("33.33"),
        "c": D("33.33"),
    }
    # Exact shares 2.5, 3.5 and 4: a and b tie on the remainder .5 and a comes first.
    assert largest_remainder(D(10), {"a": D(25), "b": D(35), "c": D(40)}, COUNT) == {
        "a": D(3),
        "b": D(3),
        "c": D(4),
    }
    assert largest_remainder(D(10), {"a": D(20), "b": D(36), "c": D(44)}, COUNT) == {
        "a": D(2),
        "b": D(4),
        "c": D(4),
    }


@pytest.mark.parametrize(
    ("total", "weight_map", "message"),
    [
        (D("10.005"), {"a": D(1)}, "not a multiple of 0.01"),
        (D(-1), {"a": D(1)}, "negative"),
        (D(10), {"a": D(-1), "b": D(2)}, "weight of a is negative"),
        (D(10), {"a": D(0), "b": D(0)}, "All weights are zero"),
        (D(10), {}, "no one to split"),
        (D(10), {"a": 1.5}, "must be a Decimal"),
        (D(10), {"a": D("NaN")}, "must be a number"),
    ],
)
def test_it_refuses_what_cannot_be_split(
    total: Decimal, weight_map: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(DistributionError, match=message):
        largest_remainder(total, weight_map, CENT)


def test_it_splits_equally_with_the_first_members_taking_the_leftovers() -> None:
    assert split_equal(D(11), ["ann", "bob", "cy"], COUNT) == {"ann": 4, "bob": 4, "cy": 3}
    with pytest.raises(DistributionError, match="only one share"):
        split_equal(D(11), ["ann", "ann"], COUNT)


def test_it_accepts_percentages_within_a_hundredth_of_100() -> None:
    thirds = {"a": D("33.33"), "b": D("33.33"), "c": D("33.33")}

    assert split_percentages(D(1000), thirds, COUNT) == {"a": 334, "b": 333, "c": 333}


@pytest.mark.parametrize(
    ("percentages", "message"),
    [
        ([D("50"), D("45.5")], "Percentages add up to 95.5%: 4.5 short of 100%."),
        ([D("60"), D("42")], "Percentages add up to 102%: 2 over 100%."),
        ([D("33.33"), D("33.33"), D("33.32")], "Percentages add up to 99.98%: 0.02 short of"),
        ([D("110"), D("-10")], "The percentage for 1 is negative (-10)"),
    ],
)
def test_it_says_by_how_much_percentages_miss_100(percentages: list[Decimal], message: str) -> None:
    with pytest.raises(DistributionError) as refused:
        split_percentages(D(1000), dict(enumerate(percentages)), COUNT)

    assert str(refused.value).startswith(message)


@settings(max_examples=200)
@given(hundredths=st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
def test_it_refuses_any_percentages_not_adding_up_to_100(hundredths: list[int]) -> None:
    percentages = [D(value) / 100 for value in hundredths]
    added = sum(percentages)
    assume(abs(added - 100) > CENT)
    side = "short of" if added < 100 else "over"

    with pytest.raises(DistributionError) as refused:
        split_percentages(D(500), dict(enumerate(percentages)), COUNT)

    expected = f"{abs(100 - added).normalize():f} {side} 100%"
    assert expected in str(refused.value)


@settings(max_examples=200)
@given(data=st.data(), units=st.integers(0, 10**6), quantum=quanta, parts=st.integers(1, 8))
def test_it_splits_by_percentages_adding_up_to_100_exactly(
    data: st.DataObject, units: int, quantum: Decimal, parts: int
) -> None:
    percentages = [D(cut) / 100 for cut in cuts(data.draw, 10_000, parts)]
    total = units * quantum

    shares = split_percentages(total, dict(enumerate(percentages)), quantum)

    assert sum(shares.values()) == total


def test_it_says_by_how_much_custom_amounts_miss_the_team_target() -> None:
    with pytest.raises(DistributionError, match=r"^Custom amounts add up to 950; 50 short of the "):
        split_custom(D(1000), {"a": D(500), "b": D(450)}, COUNT)
    with pytest.raises(DistributionError, match=r"1010.50; 10.50 over the team target of 1000.00"):
        split_custom(D(1000), {"a": D(500), "b": D("510.50")}, CENT)
    with pytest.raises(DistributionError, match="amount for b"):
        split_custom(D(1000), {"a": D(500), "b": D("499.5"), "c": D("0.5")}, COUNT)


@settings(max_examples=200)
@given(
    amounts=st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    difference=st.integers(-(10**4), 10**4),
    quantum=quanta,
)
def test_it_accepts_custom_amounts_only_when_they_add_up(
    amounts: list[int], difference: int, quantum: Decimal
) -> None:
    custom = {index: units * quantum for index, units in enumerate(amounts)}
    total = (sum(amounts) + difference) * quantum
    assume(total >= 0)

    if difference == 0:
        assert split_custom(total, custom, quantum) == custom
        return
    with pytest.raises(DistributionError) as refused:
        split_custom(total, custom, quantum)
    side = "over" if difference < 0 else "short of"
    gap = f"{abs(difference) * quantum:f}"
    assert f"; {gap} {side} the team target of {total:f}." in str(refused.value)


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[int, list[int]], set[int]]:
    """A reporting tree of up to 30 members under member 0, and who among them holds targets."""
    size = draw(st.integers(1, 30))
    children: dict[int, list[int]] = {node: [] for node in range(size)}
    for node in range(1, size):
        children[draw(st.integers(0, node - 1))].append(node)
    managers_hold = draw(st.booleans())
    holders = {node for node in range(size) if managers_hold or not children[node]}
    return children, holders


@settings(max_examples=200)
@given(data=st.data(), tree=trees(), units=st.integers(0, 10**6), quantum=quanta)
def test_it_distributes_down_a_tree_so_every_level_adds_up(
    data: st.DataObject,
    tree: tuple[dict[int, list[int]], set[int]],
    units: int,
    quantum: Decimal,
) -> None:
    children, holders = tree
    total = units * quantum
    methods, expected = draw_methods(data, children, holders, total, quantum)

    allocations = distribute(total, 0, children, methods, holders, quantum)

    assert allocations == expected
    personal = personal_targets(allocations, children)
    for parent, reports in children.items():
        assert allocations[parent] == sum(allocations[r] for r in reports) + personal[parent]
        assert personal[parent] >= 0
        assert personal[parent] == 0 or parent in holders
    assert sum(personal.values()) == total


def draw_methods(
    data: st.DataObject,
    children: dict[int, list[int]],
    holders: set[int],
    total: Decimal,
    quantum: Decimal,
) -> tuple[dict[int, LevelSplit], dict[int, Decimal]]:
    """A random split per parent, and the allocations those splits should produce."""
    methods: dict[int, LevelSplit] = {}
    expected = {0: total}
    for parent in sorted(children):  # parents precede their reports: a parent's id is smaller
        participants: list[object] = list(children[parent])
        if not participants:
            continue
        if parent in holders:
            participants.append(OWN)
        method = data.draw(st.sampled_from(["default", "equal", "level", "percentage", "custom"]))
        if method in ("default", "equal"):
            carried = {key: D(carriers(key, children, holders)) for key in participants}
            split = largest_remainder(expected[parent], carried, quantum)
            if method == "equal":
                methods[parent] = LevelSplit("equal")
        elif method == "level":
            split = split_equal(expected[parent], participants, quantum)
            methods[parent] = LevelSplit("level")
        elif method == "percentage":
            cut = cuts(data.draw, 10_000, len(participants))
            shares = {
                key: D(hundredths) / 100 for key, hundredths in zip(participants, cut, strict=True)
            }
            methods[parent] = LevelSplit("percentage", shares)
            split = split_percentages(expected[parent], shares, quantum)
        else:
            cut = cuts(data.draw, int(expected[parent] / quantum), len(participants))
            split = {key: units * quantum for key, units in zip(participants, cut, strict=True)}
            methods[parent] = LevelSplit("custom", split)
        expected.update({report: split[report] for report in children[parent]})
    return methods, expected


def carriers(node: object, children: dict[int, list[int]], holders: set[int]) -> int:
    """How many target carriers ``node`` stands for: one for OWN, else its subtree's, walked
    independently of distribute's own count."""
    if node is OWN:
        return 1
    below = sum(carriers(report, children, holders) for report in children[node])
    return below + (1 if node in holders or not children[node] else 0)


@settings(max_examples=200)
@given(tree=trees(), units=st.integers(0, 10**5))
def test_it_gives_every_carrier_an_equal_share_of_an_equal_split(
    tree: tuple[dict[int, list[int]], set[int]], units: int
) -> None:
    children, holders = tree
    allocations = distribute(D(units), 0, children, {}, holders, COUNT)

    personal = personal_targets(allocations, children)
    carried = [personal[node] for node in children if node in holders or not children[node]]
    fair = D(units) / len(carried)
    # Each level rounds a team's share to a whole unit at most once: within two of fair.
    assert all(abs(share - fair) < 2 for share in carried)
    assert sum(carried) == units


def test_it_splits_an_uneven_team_equally_per_person_not_per_report() -> None:
    allocations = distribute(D(80), "vp", org_chart(), {}, lambda member: False, COUNT)

    assert (allocations["north"], allocations["south"]) == (60, 20)
    assert {allocations[m] for m in ("ann", "bob", "cy", "dee")} == {20}


def org_chart() -> dict[str, list[str]]:
    return {"vp": ["north", "south"], "north": ["ann", "bob", "cy"], "south": ["dee"]}


LEVELS = {"vp": LevelSplit("level"), "north": LevelSplit("level")}


def test_it_splits_a_managers_team_target_among_their_reports_only() -> None:
    allocations = distribute(D(100), "vp", org_chart(), LEVELS, lambda member: False, COUNT)

    assert allocations == {
        "vp": 100,
        "north": 50,
        "ann": 17,
        "bob": 17,
        "cy": 16,
        "south": 50,
        "dee": 50,
    }
    assert personal_targets(allocations, org_chart())["north"] == 0


def test_it_counts_a_target_holding_manager_as_one_more_equal_share() -> None:
    allocations = distribute(D(100), "vp", org_chart(), LEVELS, {"north"}, COUNT)

    assert [allocations[m] for m in ("north", "ann", "bob", "cy")] == [50, 13, 13, 12]
    assert personal_targets(allocations, org_chart())["north"] == 12


def test_it_gives_a_target_holding_manager_their_own_percentage() -> None:
    methods = {
        "vp": LevelSplit("custom", {"north": D(700), "south": D(300)}),
        "north": LevelSplit("percentage", {"ann": D(30), "bob": D(30), "cy": D(30), OWN: D(10)}),
    }

    allocations = distribute(D(1000), "vp", org_chart(), methods, {"north"}, COUNT)

    assert [allocations[m] for m in ("north", "ann", "bob", "cy", "south")] == [
        700,
        210,
        210,
        210,
        300,
    ]
    assert personal_targets(allocations, org_chart())["north"] == 70


def test_it_names_the_parent_whose_split_does_not_add_up() -> None:
    methods = {
        "vp": LevelSplit("level"),
        "north": LevelSplit("custom", {"ann": D(20), "bob": D(20), "cy": D(5)}),
    }

    with pytest.raises(DistributionError) as refused:
        distribute(D(100), "vp", org_chart(), methods, set(), COUNT)

    assert refused.value.node == "north"
    assert str(refused.value) == "Custom amounts add up to 45; 5 short of the team target of 50."


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (LevelSplit("percentage", {"ann": D(50), "bob": D(50)}), "no share for cy, own share"),
        (
            LevelSplit("percentage", {"ann": D(25), "bob": D(25), "cy": D(25), OWN: D(25), "x": 0}),
            "gives shares to x, who are not direct reports",
        ),
    ],
)
def test_it_refuses_shares_that_do_not_match_the_reports(split: LevelSplit, message: str) -> None:
    with pytest.raises(DistributionError, match=message):
        distribute(D(100), "vp", org_chart(), {"north": split}, {"north"}, COUNT)


def test_it_refuses_a_member_who_appears_twice_in_the_tree() -> None:
    looped = {**org_chart(), "dee": ["north"]}

    with pytest.raises(DistributionError, match="north appears more than once"):
        distribute(D(100), "vp", looped, {}, set(), COUNT)


def test_it_refuses_a_split_method_it_does_not_know() -> None:
    with pytest.raises(DistributionError, match="Unknown split method 'weighted'"):
        LevelSplit("weighted")  # type: ignore[arg-type]
    with pytest.raises(DistributionError, match="takes no shares"):
        LevelSplit("equal", {"ann": D(1)})


def test_it_phases_evenly_with_the_earliest_cycles_taking_the_leftovers() -> None:
    months = phase(D(100), None, COUNT, cycle_count=12)

    assert months == [D(9)] * 4 + [D(8)] * 8
    with pytest.raises(DistributionError, match="number of cycles"):
        phase(D(100), None, COUNT)


def test_it_phases_by_seasonality() -> None:
    quarters = phase(D("1000.00"), [D(10), D(20), D(30), D(40)], CENT)

    assert quarters == [D("100.00"), D("200.00"), D("300.00"), D("400.00")]
    with pytest.raises(DistributionError, match="4 cycles but 3 phasing weights"):
        phase(D(1000), [D(1), D(1), D(1)], COUNT, cycle_count=4)


@settings(max_examples=200)
@given(units=st.integers(0, 10**7), quantum=quanta, weight_list=weights)
def test_it_phases_exactly(units: int, quantum: Decimal, weight_list: list[Decimal]) -> None:
    total = units * quantum

    phased = phase(total, weight_list, quantum)
    even = phase(total, None, quantum, cycle_count=len(weight_list))

    assert sum(phased) == total
    assert sum(even) == total
    assert max(even) - min(even) <= quantum
