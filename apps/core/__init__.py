"""Shared foundations with no domain models: prefixed ids and the base model, the error hierarchy,
the clock, and request plumbing (body size limit). Every other app may import from here; this app
imports from none of them."""
