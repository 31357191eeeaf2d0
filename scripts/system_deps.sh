#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing: PostgreSQL (the tests'
# second database), Chromium (renders the HTML reports to PNG) and a CJK font (Chinese account
# names render as text, not boxes, in those screenshots). Needs root for apt-get;
# without root it only reports what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || missing+=(fonts-noto-cjk)
command -v make >/dev/null 2>&1 || missing+=(make)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
