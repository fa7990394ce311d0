# Sourced by demo.sh and test.sh: make Python 3.12 and uv available and install the
# locked environment. Safe to run again; does nothing that is already done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# Python 3.12 from pyenv where the machine uses pyenv (uv cannot download one here).
if command -v pyenv >/dev/null 2>&1 && [ -z "${PYENV_VERSION:-}" ]; then
  PYENV_VERSION="$( (pyenv versions --bare | grep -E '^3\.12\.'; pyenv versions --bare | grep -E '^3\.1[3-9]\.') | head -n 1 || true)"
  export PYENV_VERSION
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv" >&2
  python3 -m pip install --quiet --disable-pip-version-check uv
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
fi

# The first sync builds the embedded engine (Redis + FalkorDB) from source: ~3 minutes.
# Compiled once here (the first sync takes longer, later ones do not), the libraries'
# bytecode spares every later Python process compiling what it imports, all the more
# where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE): the app, the
# API, each load and each test's subprocess.
uv sync --frozen --quiet --compile-bytecode
