# Sourced by test.sh: what the test suite needs beyond Python packages.
# Node.js for Neo4j's Cypher linter (npm ci runs from the lock file inside the tests).
if ! command -v node >/dev/null 2>&1; then
  echo "test-deps: Node.js is needed for the Cypher portability guard" >&2
  exit 1
fi

# Debian's Chromium for the end-to-end browser tests (never a browser download).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test-deps: installing Debian's chromium" >&2
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q chromium >/dev/null
  }
fi

# Java for linkage on Spark (PySpark runs Splink in a local JVM in the tests): Debian's
# own headless JRE when there is none, as for Chromium.
if ! command -v java >/dev/null 2>&1; then
  echo "test-deps: installing Debian's Java runtime for Spark" >&2
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -q default-jre-headless >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q default-jre-headless >/dev/null
  }
fi
