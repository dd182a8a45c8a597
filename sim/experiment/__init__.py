"""The experiment layer: replications, executors, the results store, sweeps, sizing and the
backtest. It drives the model but knows nothing of SimPy, files of reports or the command line."""
