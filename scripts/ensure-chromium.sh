#!/usr/bin/env bash
# Installs Debian's Chromium for the `ivcrush web` browser test when it is missing (make test
# calls this). Idempotent: with /usr/bin/chromium present it does nothing and asks no registry.
# Playwright drives this browser (tests/integration/browser.py); no tool downloads one of its own.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: /usr/bin/chromium is missing; as root: apt-get install chromium" >&2
    exit 1
fi
echo "ensure-chromium: installing Debian's chromium for the browser test" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
dpkg-query -W chromium >&2
