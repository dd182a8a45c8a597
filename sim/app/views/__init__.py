"""One module per view of the page; each has ``render(ctx)``."""

from sim.app.views.business_case import render as business_case
from sim.app.views.scenario_table import render as scenario_table
from sim.app.views.staffing import render as staffing
from sim.app.views.whatif import render as whatif

__all__ = ["business_case", "scenario_table", "staffing", "whatif"]
