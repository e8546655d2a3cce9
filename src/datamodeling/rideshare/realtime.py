""" "Now make it real time": replay the event stream in 5-minute micro-batches.

A stream processor does not recompute ``fact_supply_demand`` from scratch. It keeps a little
*state* (each driver's current status and zone; each open request's zone, interval and request
time) and, every 5 minutes, reads the events that arrived since the last batch and **adds** to
the rows they concern:

* the driver counts of the interval that starts now come from the state (a snapshot);
* a ``requested`` event adds 1 to ``requests`` of its zone and interval;
* later events of a request (accepted, arrived, completed, cancelled, expired) update the row of
  the interval *in which it was requested*, which may be several batches ago: rows are upserted,
  not appended, and a row is final only once every request in it has ended (the *watermark*:
  here, one hour after the interval).

Because every measure of the table is a sum or a count (additive), adding deltas batch after
batch gives exactly the table the batch build computes; :func:`replay` returns it so the tests can
assert the two are equal. Averages (wait time) are computed when the table is read.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from . import generate as gen

STEP = pd.Timedelta(minutes=gen.INTERVAL_MINUTES)
ADDITIVE = [
    "requests",
    "abandoned_requests",
    "matched_requests",
    "unfulfilled_requests",
    "completed_trips",
    "wait_ms_sum",
    "waits",
]
WATERMARK = pd.Timedelta(hours=1)
COLUMNS = [
    "zone_id",
    "interval_start",
    *ADDITIVE,
    "drivers_online",
    "available_drivers",
]


def _us(ts) -> np.ndarray:
    return np.asarray(pd.to_datetime(ts).astype("datetime64[us]")).astype(np.int64)


def replay(
    con,
    start=None,
    end=None,
    *,
    watermark: pd.Timedelta = WATERMARK,
    on_batch: Callable[[pd.Timestamp, pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Replay the clean event facts from ``start`` to ``end`` (default: the last day) in batches.

    Batch ``k`` closes at ``t_k = start + k * 5 min`` and processes the events with
    ``t_k - 5 min < event_time <= t_k``; after it, the snapshot of drivers for the interval
    starting at ``t_k`` is taken. Batches continue ``watermark`` past ``end`` so that late
    milestones land in their rows. ``on_batch(t_k, rows)`` is called after each batch with the
    rows it touched (what a serving store would receive).
    """
    z = con.table("dim_zone")
    zones = z.filter((z.zone_id > 0) & ~z.is_inferred)  # the zones of the board
    zone_ids = (
        zones.select("zone_id").order_by("zone_id").to_pandas().zone_id.to_numpy()
    )
    end = pd.Timestamp(end if end is not None else gen.END)
    start = pd.Timestamp(start) if start is not None else end - pd.Timedelta(days=1)
    n_int = int((end - start) / STEP)
    stop = end + watermark

    # the state at the first batch: restored from a checkpoint (the status valid at that time)
    checkpoint = start - STEP
    s = con.table("fact_driver_status")
    at_checkpoint = s.filter(
        (s.event_time <= checkpoint)
        & (s.status_end.isnull() | (s.status_end > checkpoint))
    )
    state = at_checkpoint.select("driver_id", "status", "zone_id").to_pandas()
    status_of = dict(zip(state.driver_id, state.status, strict=True))
    zone_of = dict(zip(state.driver_id, state.zone_id, strict=True))

    status_events = (
        s.filter((s.event_time > checkpoint) & (s.event_time <= stop))
        .order_by(["event_time", "status_event_id"])
        .select("status_event_id", "driver_id", "status", "zone_id", "event_time")
        .to_pandas()
    )
    e = con.table("fact_trip_event")
    trip_events = (
        e.filter((e.event_time > checkpoint) & (e.event_time <= stop))
        .order_by(["event_time", "event_id"])
        .select("trip_id", "event_type", "event_time", "zone_id")
        .to_pandas()
    )
    start_us, step_us = int(_us([start])[0]), int(STEP.value // 1000)

    def batch_of(times) -> np.ndarray:
        return -(-(_us(times) - start_us) // step_us)  # ceil: (t_k - 5 min, t_k] -> k

    s_batch = batch_of(status_events.event_time)
    t_batch = batch_of(trip_events.event_time)
    t_trip = trip_events.trip_id.to_numpy()
    t_kind = trip_events.event_type.to_numpy()
    t_us = _us(trip_events.event_time)
    t_zone = trip_events.zone_id.to_numpy()
    store = {c: np.zeros((len(zone_ids), n_int), dtype=np.int64) for c in ADDITIVE}
    online = np.zeros((len(zone_ids), n_int), dtype=np.int64)
    available = np.zeros((len(zone_ids), n_int), dtype=np.int64)
    zone_pos = {z: i for i, z in enumerate(zone_ids)}
    open_trips: dict[
        int, tuple[int, int, int]
    ] = {}  # trip -> (zone pos, interval, request us)
    matched: set[int] = set()
    n_batches = n_int + int(watermark / STEP)
    for k in range(n_batches + 1):
        touched: set[tuple[int, int]] = set()
        lo, hi = np.searchsorted(s_batch, [k, k + 1])
        batch = status_events.iloc[lo:hi]
        for driver, status, zone in zip(
            batch.driver_id, batch.status, batch.zone_id, strict=True
        ):
            status_of[driver] = status
            zone_of[driver] = zone
        lo, hi = np.searchsorted(t_batch, [k, k + 1])
        for trip, kind, us, zone in zip(
            t_trip[lo:hi], t_kind[lo:hi], t_us[lo:hi], t_zone[lo:hi], strict=True
        ):
            if kind == "requested":
                interval = (us - start_us) // step_us
                if (
                    0 <= interval < n_int and zone in zone_pos
                ):  # Unknown zones: not on the board
                    open_trips[trip] = (zone_pos[zone], interval, us)
                    store["requests"][zone_pos[zone], interval] += 1
                    touched.add((zone_pos[zone], interval))
                continue
            if trip not in open_trips:
                continue  # requested outside the window
            z, interval, requested_us = open_trips[trip]
            touched.add((z, interval))
            if kind == "accepted":
                matched.add(trip)
                store["matched_requests"][z, interval] += 1
            elif kind == "arrived":
                store["waits"][z, interval] += 1
                store["wait_ms_sum"][z, interval] += (us - requested_us) // 1000
            elif kind == "completed":
                store["completed_trips"][z, interval] += 1
            elif kind == "expired":
                store["unfulfilled_requests"][z, interval] += 1
            elif kind == "cancelled" and trip not in matched:
                store["abandoned_requests"][z, interval] += 1
        if k < n_int:  # the snapshot of drivers at the start of interval k
            for driver, status in status_of.items():
                if status != "offline":
                    z = zone_pos[zone_of[driver]]
                    online[z, k] += 1
                    available[z, k] += status == "available"
                    touched.add((z, k))
        if on_batch is not None and touched:
            on_batch(
                start + k * STEP,
                _frame(zone_ids, start, store, online, available, touched),
            )
    return _frame(zone_ids, start, store, online, available)


def _frame(zone_ids, start, store, online, available, only=None) -> pd.DataFrame:
    n_zones, n_int = online.shape
    z, k = np.divmod(np.arange(n_zones * n_int), n_int)
    if only is not None:
        pairs = np.array(sorted(only), dtype=np.int64).reshape(-1, 2)
        z, k = pairs[:, 0], pairs[:, 1]
    frame = pd.DataFrame(
        {
            "zone_id": zone_ids[z],
            "interval_start": (
                pd.Timestamp(start)
                + pd.to_timedelta(k * gen.INTERVAL_MINUTES, unit="m")
            ).astype("datetime64[us]"),
            **{c: store[c][z, k] for c in ADDITIVE},
            "drivers_online": online[z, k],
            "available_drivers": available[z, k],
        }
    )
    return frame


def batch_result(con, start=None, end=None) -> pd.DataFrame:
    """The same rows from the batch-built ``fact_supply_demand``, for comparison."""
    t = con.table("fact_supply_demand")
    end = pd.Timestamp(end if end is not None else gen.END)
    start = pd.Timestamp(start) if start is not None else end - pd.Timedelta(days=1)
    rows = t.filter((t.interval_start >= start) & (t.interval_start < end))
    return rows.select(COLUMNS).order_by(["zone_id", "interval_start"]).to_pandas()
