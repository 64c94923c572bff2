"""Faults inside arktrace are logged once per place and swallowed: the user's call always goes on."""

from __future__ import annotations

import logging

logger = logging.getLogger("arktrace")
_reported: set[str] = set()


def report_fault(where: str) -> None:
    """Log the exception being handled, the first time it happens at ``where``. Call inside ``except``."""
    if where in _reported:
        return
    _reported.add(where)
    logger.warning("arktrace: internal error in %s; the call goes on without it", where, exc_info=True)


def forget() -> None:
    """Forget what was reported: after shutdown(), a later init() logs its own faults again."""
    _reported.clear()
