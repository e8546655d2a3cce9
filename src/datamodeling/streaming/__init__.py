"""Video streaming practice: viewing events, recommendations and streaming quality.

Event-level facts (``viewing_event``, ``recommendation_event``, ``streaming_quality_event``) are
the system of record; ``playback_session`` and ``viewing_fact`` are built from them by the
warehouse's own transforms, so every total can be traced back to events.
"""

from datamodeling.registry import Practice

from .build import build

PRACTICE = Practice(
    name="streaming", title="Video streaming service", package="datamodeling.streaming"
)

__all__ = ["PRACTICE", "build"]
