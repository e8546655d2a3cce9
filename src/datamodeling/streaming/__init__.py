"""Video streaming practice: viewing events, recommendations and streaming quality.

Event-level facts (``fact_viewing_event``, ``fact_recommendation_event``,
``fact_quality_event``) are the system of record; ``fact_playback_session``,
``fact_playback_hour`` and ``mart.viewing_daily`` (the brief's ``viewing_fact``) are built from
them by the warehouse's own transforms, so every total can be traced back to events. The brief's
table names are views over the model.
"""

from datamodeling.registry import Practice

from .build import build

PRACTICE = Practice(
    name="streaming", title="Video streaming service", package="datamodeling.streaming"
)

__all__ = ["PRACTICE", "build"]
