"""Chains of learner merges resolve to the learner that remains."""

from services.common.merges import final_survivors


def test_chains_end_at_the_learner_that_remains() -> None:
    assert final_survivors({"a": "b", "b": "c", "d": "c"}) == {"a": "c", "b": "c", "d": "c"}


def test_a_cycle_stops_instead_of_looping() -> None:
    assert set(final_survivors({"a": "b", "b": "a"})) == {"a", "b"}
