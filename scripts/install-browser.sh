#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/test_web_browser.py): Playwright drives it
# through executable_path=/usr/bin/chromium, since it cannot download its own browsers here.
# Does nothing when it is already installed; needs root (or passwordless sudo) otherwise.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get; install Chromium at /usr/bin/chromium yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi
echo "install-browser: installing Debian's chromium (for the browser tests)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo "chromium installed")"
