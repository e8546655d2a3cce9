"""Ride-sharing platform: trips, drivers, supply and demand, surge pricing, rider retention.

The fourth practice of the book, designed from the requirements alone (the seed gives no
schema). ``build(con, scale=..., seed=...)`` generates a seeded market (riders whose demand
follows the hour and the day, drivers who log on and off and move between hexagonal zones,
dispatch, cancellations, surge pricing with a switchback holdout), loads it into ``raw``, and
builds the dimensional model and the marts the metrics read.
"""

from datamodeling.registry import Practice

PRACTICE = Practice(name="rideshare", title="Ride-sharing platform", package=__name__)

from .build import build  # noqa: E402

__all__ = ["PRACTICE", "build"]
