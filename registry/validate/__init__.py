"""Validation: the stages, each named after its finding codes, and the run that orders them."""
