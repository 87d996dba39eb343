"""Django's database sessions, the session read on every signed-in request with its SQL built once (core.rows.Read).

Set as SESSION_ENGINE. Everything else — saving, renewing, expiry, clearing — is Django's own
(`django.contrib.sessions.backends.db`); the read returns the same row for the same key and time.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from gongzhi.core.rows import Read

_SESSION: Read = Read(
    "sessions.Session", "t.session_key = %s AND t.expire_date > %s", params=("session_key", "expire_date")
)


class SessionStore(DatabaseStore):
    def _get_session_from_db(self):
        try:
            found = _SESSION.first(self.session_key, timezone.now())
        except SuspiciousOperation as e:  # as Django's: logged, and the request goes on without a session
            logging.getLogger(f"django.security.{e.__class__.__name__}").warning(str(e))
            found = None
        if found is None:
            self._session_key = None
        return found
