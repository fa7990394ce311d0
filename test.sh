#!/usr/bin/env bash
# Install everything the tests need and run the whole test suite (arguments go to pytest).
source "$(dirname "$0")/scripts/bootstrap.sh"
source scripts/test-deps.sh
exec uv run --frozen pytest "$@"
