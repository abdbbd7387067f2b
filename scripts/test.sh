#!/usr/bin/env bash
# Install everything the tests need (Debian packages of the real servers, Python
# packages) and run the whole suite: lint, types, unit, integration and browser tests.
# Extra arguments go to pytest (e.g. -k store -x).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(dovecot-imapd dovecot-lmtpd kannel kannel-extras postgresql chromium chromium-driver openssl nodejs)
# The SMPP tests run an SMSC on Node (npm `smpp`, installed by their fixture); NodeSource's nodejs bundles npm.
command -v npm >/dev/null || DEBS+=(npm)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "these Debian packages are needed by the tests: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  # Keep maintainer scripts from starting the daemons: tests start their own on loopback.
  if [ ! -f /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

TOUCHHUB_EXTRAS="[test]"
source scripts/bootstrap.sh

.venv/bin/ruff check .
.venv/bin/mypy
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"  # no example database kept (tests/conftest.py)
# The slowest tests are listed at the end, to keep the whole run well under its 15 minutes.
exec .venv/bin/pytest -p no:cacheprovider --durations=25 "$@"
