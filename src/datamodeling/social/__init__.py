"""Social media analytics: users, content, engagement events, ads and devices.

The second practice of the book. ``build(con, scale=..., seed=...)`` generates a seeded platform
(users who sign up, go quiet, churn and come back; creators and their content; views, likes,
comments and shares; ad campaigns), loads it into the ``raw`` schema, and builds the dimensional
model (the brief's tables kept as views), ``mart.user_churn_stats`` and the marts the metrics read.
"""

from datamodeling.registry import Practice

PRACTICE = Practice(name="social", title="Social media analytics", package=__name__)

from .build import build  # noqa: E402

__all__ = ["PRACTICE", "build"]
