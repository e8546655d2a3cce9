"""A minimal practice used to test the toolkit's registry, warehouse and CLI in isolation."""

from datamodeling.registry import Practice

PRACTICE = Practice(name="fake", title="A fake practice for tests", package=__name__)
