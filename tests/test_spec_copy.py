"""docs/spec is the repository's copy of the product specification; it must match its
source (`scripts/sync_spec.sh`) wherever that source is beside the repository."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "spec"


def test_the_spec_copy_is_complete():
    names = {p.name for p in (REPO / "docs" / "spec").glob("*.md")}
    assert {"README.md", "metrics.md", "raw-contract.md", "outputs.md"} <= names


@pytest.mark.skipif(not SOURCE.is_dir(), reason="no specification source beside the repository")
def test_the_spec_copy_equals_its_source():
    for source in SOURCE.glob("*.md"):
        copy = REPO / "docs" / "spec" / source.name
        assert copy.exists(), f"docs/spec/{source.name} is missing: run scripts/sync_spec.sh"
        assert copy.read_bytes() == source.read_bytes(), (
            f"docs/spec/{source.name} differs from its source: run scripts/sync_spec.sh"
        )
