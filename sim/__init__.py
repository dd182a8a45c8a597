"""techbar-sim: discrete-event simulation of walk-in IT support capacity (Tech Bars)."""

__version__ = "0.1.0"
