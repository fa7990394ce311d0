#!/usr/bin/env bash
# Generate a demo county, load it into the embedded engine and open the app.
source "$(dirname "$0")/scripts/bootstrap.sh"
exec uv run --frozen jigsaw demo "$@"
