"""Calendar invites for patients (SPEC §5): RFC 5545 files, iMIP e-mails, signed links.

The builders (``ics.py``, ``vtimezone.py``, ``mail.py``) are pure: plain values in, bytes
and e-mail messages out, so the outbox worker and the tests use them without an app.
``services.py`` reads an appointment into those values; ``routes.py`` serves them.
"""
