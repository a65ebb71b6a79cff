"""Learning Trail event contracts: the catalogue every service and partner implements against.

Pure pydantic v2 models and pure functions; nothing here does I/O.
"""
