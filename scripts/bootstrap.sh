# Shared by serve.sh and test.sh: make .venv with touchhub installed (sourced, not run).
# Works on a fresh Debian with only Python 3.11 and root: installs python3-venv if needed.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "python3 -m venv is missing; installing Debian's python3-venv" >&2
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
    "$PY" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${TOUCHHUB_EXTRAS:-}"
