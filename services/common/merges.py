"""Learner merges without I/O: from "merged into" links, the learner that finally remains."""

from __future__ import annotations


def final_survivors(merged: dict[str, str]) -> dict[str, str]:
    """For each learner merged away (key), the learner at the end of its chain of merges;
    a cycle (which the department's merge rules forbid) stops where it would repeat."""

    def follow(learner_id: str) -> str:
        seen = set()
        while learner_id in merged and learner_id not in seen:
            seen.add(learner_id)
            learner_id = merged[learner_id]
        return learner_id

    return {old: follow(old) for old in merged}
