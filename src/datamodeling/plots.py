"""The book's plot conventions, in one place.

Every plot in the book:

- is as wide as the book's column, so its text is shown at the size it was drawn;
- has a title that states the finding ("Weekend evenings carry a third of viewing"), not the
  chart type ("Viewing by hour");
- labels both axes, with units ("net sales per week (USD)", "wait (minutes)");
- keeps the legend outside the data (right of the axes, or below them);
- does not draw an incomplete first or last period as if it were complete
  (:func:`complete_periods`).

>>> fig, ax = figure()                                               # doctest: +SKIP
>>> ax.plot(weekly.index, weekly.net_sales)                          # doctest: +SKIP
>>> finish(ax, title="Sales grow 4% a month", x="order week (UTC)",
...        y="net sales per week (USD)")                             # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

#: Width of a figure in inches; at :data:`DPI` it fills the book's 688 px column exactly.
WIDTH_IN = 6.88
DPI = 100
HEIGHT_IN = 3.2

BOOK_STYLE = {
    "figure.figsize": (WIDTH_IN, HEIGHT_IN),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e2e8f0",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.formatter.use_locale": False,
}


def use_book_style() -> None:
    """Apply :data:`BOOK_STYLE` to matplotlib (``teach.setup_notebook`` calls it)."""
    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)
    try:  # PNGs at the column's width: the inline backend uses the figure's own dpi
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # not in a notebook
        pass


def figure(ncols: int = 1, nrows: int = 1, *, height: float = HEIGHT_IN, **kwargs):
    """A figure as wide as the book's column: ``fig, ax = figure()``.

    Its layout is "constrained", so a legend placed outside the axes stays inside the figure
    (and the picture keeps the column's width instead of being shrunk to fit).
    """
    import matplotlib.pyplot as plt

    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(WIDTH_IN, height), **kwargs)


def finish(
    ax,
    *,
    title: str,
    y: str,
    x: str | None = None,
    legend: str | None = "right",
    legend_title: str | None = None,
    percent: str | None = None,
    thousands: str | None = None,
):
    """Apply the book's conventions to ``ax``: the finding as title, labelled axes, the legend out.

    ``title`` states the finding; ``y`` (and ``x``, unless the axis is a calendar and says so
    itself) are labels with units. ``legend`` is ``"right"`` (outside, right of the axes),
    ``"below"``, or ``None`` for no legend. ``percent="y"`` shows the y axis (shares between 0
    and 1) as percentages; ``thousands="y"`` puts a thousands separator on it.
    """
    if not title or not title.strip():
        raise ValueError("a plot's title states its finding; give one")
    if not y or not y.strip():
        raise ValueError("label the y axis, with its unit")
    ax.set_title(title, loc="left")
    ax.set_ylabel(y)
    if x is not None:
        ax.set_xlabel(x)
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        if percent == axis_name:
            axis.set_major_formatter(PercentFormatter(1.0))
        elif thousands == axis_name:
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, labels = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if legend and handles:
        if legend == "right":
            ax.legend(
                handles,
                labels,
                title=legend_title,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
            )
        elif legend == "below":
            fig = ax.figure
            engine = fig.get_layout_engine()
            if (
                engine is not None
                and type(engine).__name__ == "ConstrainedLayoutEngine"
            ):
                # Below everything the axes draw (tick labels and the x label included): the
                # constrained layout makes room for a figure legend placed "outside".
                for old in [g for g in fig.legends if getattr(g, "_dm_below", False)]:
                    old.remove()
                below = fig.legend(
                    handles,
                    labels,
                    title=legend_title,
                    loc="outside lower center",
                    ncol=_below_columns(labels, ax.figure),
                )
                below._dm_below = True
            else:
                ax.legend(
                    handles,
                    labels,
                    title=legend_title,
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.18),
                    ncol=_below_columns(labels, ax.figure),
                )
        else:
            raise ValueError(f"legend must be 'right', 'below' or None, not {legend!r}")
    return ax


def _below_columns(labels, fig) -> int:
    """Columns of a legend below the axes: at most 4, and no wider than the figure."""
    width_px = fig.get_size_inches()[0] * fig.dpi
    size_px = BOOK_STYLE["legend.fontsize"] * fig.dpi / 72
    # an entry: its handle and gaps (about 4 em) and its text (about 0.6 em a character)
    entry_px = max((len(str(label)) for label in labels), default=1) * 0.6 * size_px
    fits = int((width_px - 20) // (entry_px + 4 * size_px))
    return max(1, min(len(labels), 4, fits))


def legend_outside_data(ax) -> bool:
    """True when the axes' legend (and any figure legend) does not overlap the plotting area."""
    fig = ax.figure
    legends = [g for g in [ax.get_legend(), *fig.legends] if g is not None]
    if not legends:
        return True
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    return not any(g.get_window_extent(renderer).overlaps(area) for g in legends)


def complete_periods(
    frame: pd.DataFrame,
    column: str,
    *,
    freq: str,
    first_day,
    last_day,
) -> pd.DataFrame:
    """The rows whose period lies wholly inside the data, ``first_day`` to ``last_day``.

    ``column`` holds the start of each period (a week, a month: ``freq`` is a pandas period
    alias such as ``"W"`` or ``"M"``). A period that began before ``first_day`` or ends after
    ``last_day`` holds only part of its days, and drawn as a whole it would look like a drop.
    """
    first, last = pd.Timestamp(first_day), pd.Timestamp(last_day)
    starts = pd.to_datetime(frame[column])
    periods = starts.dt.to_period(freq)
    complete = (periods.dt.start_time >= first) & (
        periods.dt.end_time.dt.normalize() <= last
    )
    return frame[complete.to_numpy()]
