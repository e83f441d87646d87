"""Calendar invites for patients and calendar feeds for clinicians (SPEC §5).

Pure package: plain values in, RFC 5545 bytes and e-mail messages out. It imports
neither Flask nor SQLAlchemy, so the outbox worker and the tests use it without an app.
"""
