# Sourced by scripts/lectern.sh and .ci/run: install node modules when package-lock.json changed since the
# last install. MEDIASOUP_WORKER_BIN is set so that mediasoup's postinstall skips its download/build (offline).
lectern_stamp=node_modules/.lectern-lock-sha
lectern_lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$lectern_stamp" ] || [ "$(cat "$lectern_stamp")" != "$lectern_lock_sha" ]; then
  echo "lectern: installing node modules (npm ci)" >&2
  MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-skip} npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lectern_lock_sha" > "$lectern_stamp"
fi
