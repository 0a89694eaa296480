"""The landing-zone sensor: an ingestion run when new or changed files appear.

raw-contract.md, first section: an exporter keeps dropping files into the raw directory.
The sensor compares the files there with the stored manifest by size and modification time
(no file is read on a tick); the ingestion itself then hashes them and skips any delivered
again unchanged. Its cursor is the fingerprint of the listing it last asked a run for, so a
tick while that run is still going asks for nothing more.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from assets_defs.resources import CompassResource
from compass_pipeline.ingest.incremental import stored_manifest
from compass_pipeline.ingest.landing import pending
from compass_pipeline.storage import DataDir

LANDING_ZONE_SENSOR = "landing_zone_sensor"


def build_landing_zone_sensor(ingest_job) -> dg.SensorDefinition:
    @dg.sensor(
        name=LANDING_ZONE_SENSOR,
        job=ingest_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, compass: CompassResource):
        """Request an ingestion run when the landing zone has files the manifest does not
        know, or whose size or time changed; none otherwise."""
        if not compass.raw_path.is_dir():
            return dg.SkipReason(f"no raw directory at {compass.raw_path}")
        files = pending(compass.raw_path, stored_manifest(DataDir(compass.data_path)))
        if not files:
            return dg.SkipReason("no new or changed file in the landing zone")
        fingerprint = _fingerprint(compass, files)
        if fingerprint == context.cursor:
            return dg.SkipReason(f"an ingestion was requested for these {len(files)} file(s)")
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        context.log.info(f"{len(files)} new or changed file(s): {shown}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=fingerprint, tags={"compass/landing_files": str(len(files))})
            ],
            cursor=fingerprint,
        )

    return landing_zone_sensor


def _fingerprint(compass: CompassResource, files: list[str]) -> str:
    """The pending files with their sizes and times: a file changed again asks again."""
    parts = []
    for name in files:
        stat = (compass.raw_path / name).stat()
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
