#!/usr/bin/env bash
# Builds the SvelteKit app (app/build) when any of its inputs is newer than the last build.
set -euo pipefail
cd "$(dirname "$0")/../.."
stamp=app/build/.lectern-build-sha
sha=$( (find app/src app/static server/contracts server/pages -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; \
        sha256sum app/vite.config.ts package-lock.json) | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then exit 0; fi
echo "lectern: building the web app (vite build)" >&2
(cd app && ../node_modules/.bin/vite build --logLevel warn) >&2
echo "$sha" > "$stamp"
