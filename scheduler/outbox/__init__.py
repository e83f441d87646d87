"""Transactional outbox: messages written with the change they announce, sent by a worker."""
