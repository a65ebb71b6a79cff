"""Verifiable credentials for Learning Trail: CLR 2.0 ``ClrCredential`` documents embedding
Open Badges 3.0 ``AchievementCredential`` documents, each secured with a W3C Data Integrity
proof (``eddsa-rdfc-2022``), revocable through a W3C Bitstring Status List, and verified
offline with named checks.

The package is a library: pure functions over values, except :mod:`.contexts`, which fetches
the JSON-LD contexts and JSON Schemas into ``.cache/`` and reads them back.
"""
