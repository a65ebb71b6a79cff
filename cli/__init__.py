"""The ``trail`` command: local stack, topics, contracts, demo and the department's chores."""
