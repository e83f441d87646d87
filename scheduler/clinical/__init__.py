"""Clinical records along the pathway: block results, the procedure day, follow-up."""
