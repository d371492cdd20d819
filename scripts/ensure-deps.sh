#!/usr/bin/env bash
# Makes sure what `npm start` (mode run) or `npm test` (mode test) needs is installed:
#   - Node.js >= 20.19
#   - the Debian packages listed below (installed with apt-get when running as root, otherwise explained)
#   - node_modules, in step with package-lock.json (npm ci)
# Does nothing, and touches no network, when everything is already present.
#
# Usage: bash scripts/ensure-deps.sh run|test
set -euo pipefail

# ---- Debian packages each mode needs (one line to change per mode) ---------------------------------------
RUN_PACKAGES=(redis-server slapd ldap-utils)
TEST_PACKAGES=(redis-server slapd ldap-utils chromium openssl)

# The command that shows a package is installed, when it is not the package's own name.
declare -A PACKAGE_COMMAND=(
  [redis-server]=redis-server
  [slapd]=slapd
  [ldap-utils]=ldapsearch
  [chromium]=chromium
  [openssl]=openssl
)

MIN_NODE_MAJOR=20
MIN_NODE_MINOR=19
# ------------------------------------------------------------------------------------------------------------

log() { echo "[ensure-deps] $*"; }
fail() {
  echo "[ensure-deps] $*" >&2
  exit 1
}

mode="${1:-}"
case "$mode" in
run) packages=("${RUN_PACKAGES[@]}") ;;
test) packages=("${TEST_PACKAGES[@]}") ;;
*)
  echo "[ensure-deps] usage: bash scripts/ensure-deps.sh run|test" >&2
  exit 2
  ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ---- Node.js -----------------------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  fail "Node.js is not installed: install Node.js ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer (https://nodejs.org)."
fi
node_version="$(node --version)" # v20.19.0
node_version="${node_version#v}"
IFS=. read -r node_major node_minor _ <<<"$node_version"
if ! [[ "$node_major" =~ ^[0-9]+$ && "$node_minor" =~ ^[0-9]+$ ]] ||
  ((node_major < MIN_NODE_MAJOR || (node_major == MIN_NODE_MAJOR && node_minor < MIN_NODE_MINOR))); then
  fail "Node.js ${node_version} is too old: this project needs Node.js ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer (https://nodejs.org)."
fi

# ---- Debian packages ---------------------------------------------------------------------------------------
# Daemons such as slapd live in /usr/sbin, which a normal user's PATH may lack.
has_command() { PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

missing=()
for pkg in "${packages[@]}"; do
  if [[ "$mode" == run && "$pkg" == redis-server && ( -n "${REDIS_URL:-}" || -n "${REDIS_SENTINELS:-}" ) ]]; then
    continue # an external Redis is configured: no embedded redis-server needed
  fi
  if ! has_command "${PACKAGE_COMMAND[$pkg]:-$pkg}"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if ((EUID != 0)); then
    {
      echo "[ensure-deps] missing system packages: ${missing[*]}"
      echo "[ensure-deps] install them with:"
      echo "[ensure-deps]   sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
      if [[ "$mode" == run ]]; then npm_cmd="npm start"; else npm_cmd="npm test"; fi
      echo "[ensure-deps] (or run \`${npm_cmd}\` as root once: it installs them itself)"
      if [[ "$mode" == run && " ${missing[*]} " == *" redis-server "* ]]; then
        echo "[ensure-deps] or set REDIS_URL=redis://host:port to use an existing Redis server instead of redis-server"
      fi
    } >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    fail "missing system packages: ${missing[*]}, and apt-get is not available: install them with your system's package manager."
  fi
  log "installing missing system packages: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  for pkg in "${missing[@]}"; do
    has_command "${PACKAGE_COMMAND[$pkg]:-$pkg}" || fail "${pkg} was installed but its command '${PACKAGE_COMMAND[$pkg]:-$pkg}' is still missing."
  done
fi

# ---- npm packages ------------------------------------------------------------------------------------------
if [[ -f package-lock.json ]]; then
  if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "node_modules is missing or older than package-lock.json: running npm ci"
    npm ci
  fi
elif [[ ! -d node_modules ]]; then
  log "node_modules is missing and there is no package-lock.json: running npm install"
  npm install
fi
