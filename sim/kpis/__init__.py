"""Records → KPIs. Each KPI is defined once (``registry``), measured from a site's records as
additive ingredients (``measure``) and tabulated per replication (``tables``). The force-wide
``ALL`` row applies the same formula to the ingredients of all sites pooled."""

from sim.kpis.measure import (
    busy_step,
    downtime_saved_days,
    force_scale,
    ingredients,
    measured_visits,
    measured_windows,
    on_duty_step,
    on_weekday,
    pool,
    queue_step,
)
from sim.kpis.registry import (
    ALL,
    ALL_DESKS,
    ALL_POPUPS,
    HOURS_PER_DAY,
    KPI,
    KPIS,
    RESOLVED,
    kpi_table,
)
from sim.kpis.tables import (
    WAIT_BINS_MIN,
    hourly_kpis,
    queue_by_hour,
    replication_kpis,
    stock_levels,
    wait_histogram,
    weekday_kpis,
    weekly,
)

__all__ = [
    "ALL",
    "ALL_DESKS",
    "ALL_POPUPS",
    "HOURS_PER_DAY",
    "KPI",
    "KPIS",
    "RESOLVED",
    "WAIT_BINS_MIN",
    "busy_step",
    "downtime_saved_days",
    "force_scale",
    "hourly_kpis",
    "ingredients",
    "kpi_table",
    "measured_visits",
    "measured_windows",
    "on_duty_step",
    "on_weekday",
    "pool",
    "queue_by_hour",
    "queue_step",
    "replication_kpis",
    "stock_levels",
    "wait_histogram",
    "weekday_kpis",
    "weekly",
]
