"""The built-in marketplace simulator: `compass simulate` and the benchmarks' data source."""

from compass_pipeline.simulate.marketplace import SimulationSummary, simulate

__all__ = ["SimulationSummary", "simulate"]
