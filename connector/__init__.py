"""Mentor Connector: a mentoring program's policies, enforced in the systems staff already use.

This package root stays import-light on purpose: `connector.domain` must be importable by
`rules/`, `webhooks/` and `adapters/` without pulling in Flask or the store.
"""

__version__ = "0.1.0"
