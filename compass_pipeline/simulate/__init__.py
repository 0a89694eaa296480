"""The built-in marketplace simulator: `compass simulate` and the benchmarks' data source."""

from compass_pipeline.simulate.marketplace import (
    SimulationStateError,
    SimulationSummary,
    append,
    simulate,
)

__all__ = ["SimulationStateError", "SimulationSummary", "append", "simulate"]
