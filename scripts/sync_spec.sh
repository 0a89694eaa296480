#!/usr/bin/env bash
# Copy the product specification from its source (SPEC_SOURCE, default ../shared/spec beside
# this repository) into docs/spec/, which the code and the README cite.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=${SPEC_SOURCE:-../shared/spec}
[ -d "$source_dir" ] || { echo "no specification at $source_dir (set SPEC_SOURCE)" >&2; exit 1; }
mkdir -p docs/spec
cp "$source_dir"/*.md docs/spec/
chmod 644 docs/spec/*.md
git status --short docs/spec
