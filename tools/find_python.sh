# Sourced by the launch scripts: sets PYTHON and ROOT.
# Python: $PYTHON; else `python` of an activated virtualenv/conda env; else
# the repository's .venv (made by `make install`); else `python` on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "$PYTHON$VIRTUAL_ENV$CONDA_PREFIX" ] \
        && [ -x "$ROOT/.venv/bin/python" ]; then
    PYTHON="$ROOT/.venv/bin/python"
fi
PYTHON=${PYTHON:-python}
