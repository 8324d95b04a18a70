#!/usr/bin/env bash
# Make sure a headless-capable Chromium is at /usr/bin/chromium for tests/test_browser.py.
# Idempotent: does nothing when it is already there. Uses Debian's package (never downloads a
# browser from elsewhere: the CI machine only reaches the Debian/npm/PyPI registries).
# CI runs this as root before the tests; locally, run it with sudo (or skip: the browser test
# then skips with a reason, unless CI=true).
set -euo pipefail

BROWSER=/usr/bin/chromium

if [ -x "$BROWSER" ]; then
  echo "install_browser: $BROWSER already present ($("$BROWSER" --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: $BROWSER is missing and apt-get is not available; install Chromium by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install_browser: need root (or sudo) to install chromium with apt-get" >&2
    exit 1
  fi
fi

echo "install_browser: $BROWSER missing: apt-get update && apt-get install -y --no-install-recommends chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium

if [ -x "$BROWSER" ]; then
  echo "install_browser: installed $("$BROWSER" --version 2>/dev/null || echo chromium)"
else
  echo "install_browser: apt-get finished but $BROWSER is still missing" >&2
  exit 1
fi
