"""Use cases of the scoring service: jobs, training, serving, batch scoring, reports; the only layer
that drives the store, profile and the job runner."""
