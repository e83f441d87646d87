"""A clinician's cases as a subscribable calendar feed behind a revocable secret URL."""
