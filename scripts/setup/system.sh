# Sourced by scripts/lectern.sh: makes sure Debian packages are present. As root (our machines, CI,
# containers) it installs what is missing; otherwise it prints the one command to run and stops.
lectern_require_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "lectern: please install: ${missing[*]} (no apt-get here)" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "lectern: missing system packages; run: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "lectern: installing system packages: ${missing[*]}" >&2
  # A fresh machine may have no package lists yet.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    apt-get update -q >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
