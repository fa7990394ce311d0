# Sourced by test.sh: what the test suite needs beyond Python packages.
# Node.js for Neo4j's Cypher linter (npm ci runs from the lock file inside the tests).
if ! command -v node >/dev/null 2>&1; then
  echo "test-deps: Node.js is needed for the Cypher portability guard" >&2
  exit 1
fi
