"""Dagster definitions of compass-pipeline: a thin layer over `compass_pipeline`."""
