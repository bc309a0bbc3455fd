#!/usr/bin/env bash
# Install Debian's chromium for the report's headless-browser test (tests/test_report_browser.py).
# Idempotent and quiet: does nothing when /usr/bin/chromium exists. Needs root (or sudo) and network;
# when it cannot install, it says why and exits 1 (the test then fails unless QSCALE_SKIP_BROWSER=1).
set -euo pipefail

BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install_browser.sh: $BROWSER is missing and installing it needs root (no passwordless sudo)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $BROWSER is missing and apt-get is not available (Debian/Ubuntu only)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
    echo "install_browser.sh: apt-get could not install chromium (no network?); last lines:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
if [ ! -x "$BROWSER" ]; then
    echo "install_browser.sh: chromium installed but $BROWSER is missing" >&2
    exit 1
fi
