#!/usr/bin/env bash
# Build mediasoup's C++ worker (mediasoup-worker) offline on Debian 12 from the
# sources shipped in the mediasoup npm tarball, against Debian's system
# libraries (libuv, OpenSSL, abseil, flatbuffers) instead of the sources
# mediasoup's meson wraps would download, plus Debian's libsrtp2 *source*
# package (apt-get source) built statically with OpenSSL crypto: Debian's
# packaged libsrtp2 uses NSS, about 7x slower per packet.
#
# How: every wrap mediasoup declares (worker/subprojects/<name>.wrap) is
# satisfied by our small subproject in scripts/worker/subprojects/<name>/,
# copied to worker/subprojects/<the wrap's directory=>. Meson uses an existing
# directory as-is and never downloads it (--wrap-mode=nodownload). mediasoup's
# own sources are never modified; see the subprojects for the adaptations.
#
# Usage: scripts/worker/build.sh        (npm run worker:build)
#   MEDIASOUP_VERSION   version to build (default: node_modules/mediasoup, else 3.27.1)
#   LECTERN_CACHE_DIR   cache root (default: ~/.cache/lectern)
#   LECTERN_BUILD_JOBS  ninja parallelism (default: 2)
#   LECTERN_MESON_ARGS  extra arguments for `meson setup` (e.g. -Dms_log_trace=true)
#
# Output: progress on stderr; the absolute path of the binary is the last line
# on stdout. The binary is cached under
#   $LECTERN_CACHE_DIR/mediasoup-worker/<version>-<hash of build.sh+subprojects>/
# so a warm run only checks that it exists and runs. The libsrtp2 source tree
# is cached under $LECTERN_CACHE_DIR/sources/libsrtp2-<Debian version>/.
set -euo pipefail

DEFAULT_MEDIASOUP_VERSION=3.27.1
# Wraps we do not provide on purpose: test-only (catch2) and Windows-only.
IGNORED_WRAPS=(catch2 wingetopt)
# Debian packages the build needs (meson handled separately: needs >= 1.1).
# dpkg-dev provides dpkg-source, which apt-get source uses to unpack.
APT_PACKAGES=(build-essential pkg-config ninja-build python3 python3-setuptools dpkg-dev
	libuv1-dev libssl-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler)
MIN_MESON=1.1.0
# Debian's libsrtp2 source package (bookworm), built with OpenSSL into the
# worker by subprojects/libsrtp3. Part of this script, hence of the cache key.
# If the archive no longer has it, the current version is used (with a warning).
LIBSRTP2_VERSION=2.5.0-3
DEB_SRC_FILE=/etc/apt/sources.list.d/lectern-deb-src.list

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
JOBS="${LECTERN_BUILD_JOBS:-2}"

log() { printf '\n==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- version/key
version="${MEDIASOUP_VERSION:-}"
if [[ -z "$version" && -f "$REPO_ROOT/node_modules/mediasoup/package.json" ]]; then
	version="$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
		"$REPO_ROOT/node_modules/mediasoup/package.json" | head -n1)"
fi
version="${version:-$DEFAULT_MEDIASOUP_VERSION}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
	die "invalid mediasoup version '$version'"

# Hash of what feeds the build (this script, our subprojects and any extra
# meson arguments), so changing a shim rebuilds. The smoke test and docs are
# left out on purpose: editing them must not cost a rebuild.
shim_hash="$(
	cd "$SCRIPT_DIR"
	{
		find build.sh subprojects -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		printf 'meson-args: %s\n' "${LECTERN_MESON_ARGS:-}"
	} | sha256sum | cut -c1-12
)"

cache_base="${LECTERN_CACHE_DIR:-$HOME/.cache/lectern}"
cache_root="$cache_base/mediasoup-worker"
dest_dir="$cache_root/$version-$shim_hash"
dest_bin="$dest_dir/mediasoup-worker"

# The worker exits with 41 when started without MEDIASOUP_VERSION (i.e. not by
# mediasoup's Node library): proof that it loads its shared libraries and runs.
worker_runs() {
	[[ -x "$1" ]] || return 1
	local rc=0
	env -u MEDIASOUP_VERSION "$1" >/dev/null 2>&1 </dev/null || rc=$?
	[[ "$rc" -eq 41 ]]
}

if worker_runs "$dest_bin"; then
	printf '%s\n' "$dest_bin"
	exit 0
fi

start_time=$SECONDS
log "Building mediasoup-worker $version (shim hash $shim_hash)"
info "destination: $dest_bin"

# --------------------------------------------------------------- requirements
log "Checking build requirements"

missing_pkgs=()
for pkg in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing_pkgs+=("$pkg")
	fi
done
# -Dlibsrtp3:crypto-library=system links Debian's packaged libsrtp2 (NSS)
# instead of building its source: the old, slow SRTP, kept for comparison.
srtp_from_source=true
if [[ "${LECTERN_MESON_ARGS:-}" == *crypto-library=system* ]]; then
	srtp_from_source=false
	missing_libsrtp2_dev=$(dpkg-query -W -f='${Status}' libsrtp2-dev 2>/dev/null || true)
	[[ "$missing_libsrtp2_dev" == *'install ok installed'* ]] || missing_pkgs+=(libsrtp2-dev)
fi
srtp_src="$cache_base/sources/libsrtp2-$LIBSRTP2_VERSION"
have_srtp_source_index() {
	apt-cache showsrc --only-source libsrtp2 2>/dev/null | grep -q '^Version:'
}
need_deb_src=false
if $srtp_from_source && [[ ! -f "$srtp_src/.lectern-complete" ]] && ! have_srtp_source_index; then
	need_deb_src=true
	info "libsrtp2 source: no deb-src entry for bookworm in APT's sources"
fi
for cmd in npm tar flock; do
	command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is required but not found in PATH"
done

meson_ok=false
if command -v meson >/dev/null 2>&1; then
	meson_version="$(meson --version 2>/dev/null || true)"
	if dpkg --compare-versions "${meson_version:-0}" ge "$MIN_MESON"; then
		meson_ok=true
	fi
	info "meson: ${meson_version:-unknown} (need >= $MIN_MESON)"
else
	info "meson: not installed (need >= $MIN_MESON)"
fi

backports_line='deb http://deb.debian.org/debian bookworm-backports main'
backports_file=/etc/apt/sources.list.d/bookworm-backports.list
have_backports() {
	grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

deb_src_lines=()
for suite in bookworm bookworm-updates; do
	deb_src_lines+=("deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main")
done

if ((${#missing_pkgs[@]} > 0)) || ! $meson_ok || $need_deb_src; then
	((${#missing_pkgs[@]} > 0)) && info "missing Debian packages: ${missing_pkgs[*]}"
	if [[ "$(id -u)" -ne 0 ]]; then
		cmd=""
		if ! $meson_ok && ! have_backports; then
			cmd="echo '$backports_line' | sudo tee $backports_file && "
		fi
		if $need_deb_src; then
			cmd+="printf '%s\\n' '${deb_src_lines[0]}' '${deb_src_lines[1]}' | sudo tee $DEB_SRC_FILE && "
		fi
		cmd+="sudo apt-get update"
		((${#missing_pkgs[@]} > 0)) &&
			cmd+=" && sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
		$meson_ok || cmd+=" && sudo apt-get install -y -t bookworm-backports meson"
		printf '\nMissing build requirements. Run as root (or with sudo):\n\n  %s\n\n' "$cmd" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! $meson_ok && ! have_backports; then
		info "adding bookworm-backports (meson >= $MIN_MESON): $backports_file"
		echo "$backports_line" >"$backports_file"
	fi
	# Only add our entry when no deb-src for bookworm is configured at all (it
	# may just be missing from APT's lists, which the update below fixes).
	if $need_deb_src && ! grep -rqsE '^[^#]*deb-src.*bookworm|^Types:.*deb-src' \
		/etc/apt/sources.list /etc/apt/sources.list.d/; then
		info "adding Debian source packages (apt-get source libsrtp2): $DEB_SRC_FILE"
		printf '%s\n' "# Added by Lectern's scripts/worker/build.sh (libsrtp2 source, built with OpenSSL)" \
			"${deb_src_lines[@]}" >"$DEB_SRC_FILE"
	fi
	info "running: apt-get update"
	apt-get update >&2
	if ((${#missing_pkgs[@]} > 0)); then
		info "running: apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
		apt-get install -y --no-install-recommends "${missing_pkgs[@]}" >&2
	fi
	if ! $meson_ok; then
		info "running: apt-get install -y -t bookworm-backports meson"
		apt-get install -y -t bookworm-backports meson >&2
		dpkg --compare-versions "$(meson --version)" ge "$MIN_MESON" ||
			die "meson $(meson --version) is still older than $MIN_MESON"
	fi
	if $need_deb_src && ! have_srtp_source_index; then
		die "apt-get update did not make the libsrtp2 source package available (check $DEB_SRC_FILE)"
	fi
fi
info "ok"

# ----------------------------------------------------------- lock + work dir
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock-$version-$shim_hash"
if ! flock -n 9; then
	log "Another build of the same worker is running; waiting for it"
	flock 9
fi
# Someone else may have finished the build while we waited.
if worker_runs "$dest_bin"; then
	printf '%s\n' "$dest_bin"
	exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lectern-mediasoup-worker.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ sources
log "Fetching mediasoup@$version sources (npm pack)"
(cd "$work" && npm pack "mediasoup@$version" --silent >/dev/null) ||
	die "npm pack mediasoup@$version failed"
tarball="$(find "$work" -maxdepth 1 -name 'mediasoup-*.tgz' -print -quit)"
[[ -n "$tarball" ]] || die "npm pack produced no tarball"
tar -xzf "$tarball" -C "$work" package/worker
src="$work/package/worker"
[[ -f "$src/meson.build" ]] || die "no worker/meson.build in mediasoup@$version"
info "extracted $(basename "$tarball") -> worker/"

# Debian's libsrtp2 source package, unpacked with Debian's patches applied,
# cached across builds (the worker's cache key changes with LIBSRTP2_VERSION).
fetch_libsrtp2_source() {
	local dl tree dsc actual dest
	log "Fetching Debian's libsrtp2 source package $LIBSRTP2_VERSION (apt-get source)"
	dl="$work/libsrtp2-source"
	mkdir -p "$dl"
	# APT downloads as the unprivileged _apt user when it can write there.
	if [[ "$(id -u)" -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
	if ! (cd "$dl" && apt-get source -q "libsrtp2=$LIBSRTP2_VERSION" >&2); then
		info "WARNING: libsrtp2 source $LIBSRTP2_VERSION is not in the archive any more;"
		info "         building the current one (update LIBSRTP2_VERSION in build.sh)"
		rm -rf "${dl:?}"/*
		(cd "$dl" && apt-get source -q libsrtp2 >&2) || die "apt-get source libsrtp2 failed"
	fi
	dsc="$(find "$dl" -maxdepth 1 -name 'libsrtp2_*.dsc' -print -quit)"
	tree="$(find "$dl" -mindepth 1 -maxdepth 1 -type d -name 'libsrtp2-*' -print -quit)"
	[[ -n "$dsc" && -f "$tree/meson.build" ]] || die "apt-get source libsrtp2 left no source tree with meson.build"
	actual="$(basename "$dsc" .dsc)"
	actual="${actual#libsrtp2_}"
	dest="$cache_base/sources/libsrtp2-$actual"
	mkdir -p "$cache_base/sources"
	rm -rf "$dest" "$dest.partial"
	mv "$tree" "$dest.partial"
	touch "$dest.partial/.lectern-complete"
	mv "$dest.partial" "$dest"
	srtp_src="$dest"
	info "libsrtp2 $actual -> $srtp_src"
}

if $srtp_from_source; then
	if [[ -f "$srtp_src/.lectern-complete" ]]; then
		log "Using Debian's libsrtp2 source from the cache: $srtp_src"
	else
		fetch_libsrtp2_source
	fi
fi

log "Laying out subprojects (system libraries instead of wrap downloads)"
provided=()
for wrap in "$src"/subprojects/*.wrap; do
	name="$(basename "$wrap" .wrap)"
	dir="$(sed -n 's/^[[:space:]]*directory[[:space:]]*=[[:space:]]*//p' "$wrap" | head -n1 | tr -d '\r[:space:]')"
	dir="${dir:-$name}"
	if [[ -d "$SCRIPT_DIR/subprojects/$name" ]]; then
		rm -rf "$src/subprojects/$dir"
		cp -R "$SCRIPT_DIR/subprojects/$name" "$src/subprojects/$dir"
		provided+=("$name")
		info "$name.wrap -> subprojects/$dir (ours)"
	elif [[ " ${IGNORED_WRAPS[*]} " == *" $name "* ]]; then
		info "$name.wrap -> not needed for mediasoup-worker"
	else
		info "WARNING: $name.wrap has no Lectern subproject; meson will fail if it is used"
	fi
done
for ours in "$SCRIPT_DIR"/subprojects/*/; do
	name="$(basename "$ours")"
	[[ " ${provided[*]} " == *" $name "* ]] ||
		die "mediasoup@$version has no $name.wrap any more; scripts/worker/subprojects/$name needs updating"
done
# Nested subproject of our libsrtp3 (meson looks for it at the top level).
if $srtp_from_source; then
	cp -R "$srtp_src" "$src/subprojects/libsrtp2"
	info "libsrtp2 -> subprojects/libsrtp2 (Debian source, OpenSSL crypto, static)"
fi

# -------------------------------------------------------------------- build
build="$work/build"
# Same release options mediasoup's worker/tasks.py uses (plus its
# meson_options.txt defaults, which are the meson defaults anyway).
# shellcheck disable=SC2206
extra_meson_args=(${LECTERN_MESON_ARGS:-})
log "Configuring (meson setup, release)"
meson setup "$build" "$src" \
	--buildtype=release \
	-Db_ndebug=true \
	--wrap-mode=nodownload \
	"${extra_meson_args[@]}" >&2

log "Compiling mediasoup-worker (ninja -j$JOBS)"
nice -n 5 ninja -C "$build" -j"$JOBS" mediasoup-worker >&2

built="$build/mediasoup-worker"
[[ -x "$built" ]] || die "ninja finished but $built is missing"
worker_runs "$built" || die "the built worker does not start (expected exit code 41 without MEDIASOUP_VERSION)"

log "Installing into the cache"
mkdir -p "$dest_dir"
tmp_bin="$(mktemp "$dest_dir/.mediasoup-worker.XXXXXX")"
cp "$built" "$tmp_bin"
chmod 0755 "$tmp_bin"
{
	echo "mediasoup $version, lectern shim hash $shim_hash, built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "meson $(meson --version), $(g++ --version | head -n1)"
	if $srtp_from_source; then
		echo "libsrtp2 $(basename "$srtp_src" | sed 's/^libsrtp2-//') from Debian's source package, OpenSSL crypto, static"
	else
		echo "libsrtp2: Debian's packaged shared library (NSS crypto)"
	fi
	dpkg-query -W -f='${Package} ${Version}\n' libuv1-dev libssl-dev libabsl-dev libsrtp2-dev \
		libflatbuffers-dev flatbuffers-compiler 2>/dev/null || true
} >"$dest_dir/build-info.txt"
mv -f "$tmp_bin" "$dest_bin"
info "build time: $((SECONDS - start_time)) s"

printf '%s\n' "$dest_bin"
