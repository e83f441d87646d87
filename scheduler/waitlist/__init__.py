"""The waitlist and backfill (SPEC §10): freed slots offered to waiting patients."""
