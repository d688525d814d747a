# Sourced by ./hutch and eng/test.sh: installs what a fresh Debian 12 host lacks (as root), once.
# runc is the default OCI runtime; the .NET SDK is a precondition (see README).
# usage: ensure_deps [extra-debian-packages-for-commands...] (each given as command:package)
ensure_deps() {
  local missing=() pair
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  # mkfs.btrfs: workspaces live on a btrfs volume with reflinks (copy-on-write checkpoints) and
  # per-sandbox quotas; mkfs.xfs: the XFS checkpoint tests, and volumes of daemons from before quotas.
  command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
  command -v mkfs.xfs >/dev/null 2>&1 || missing+=(xfsprogs)
  # nft: a sandbox whose network policy lets anything out gets its capture rules through it;
  # ip: the egress tests build their upstreams' namespace and veth with it.
  command -v nft >/dev/null 2>&1 || missing+=(nftables)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}"); done
  command -v dotnet >/dev/null 2>&1 || { echo "hutch: the .NET 10 SDK is required (dotnet not found in PATH)" >&2; return 1; }
  ((${#missing[@]} == 0)) && return 0
  install_packages "${missing[@]}"
}

# usage: install_packages debian-package... (apt-get, with one `apt-get update` if the first try fails)
install_packages() {
  if [[ $(id -u) != 0 ]]; then
    echo "hutch: missing $*; run as root or: sudo apt-get install -y $*" >&2
    return 1
  fi
  echo "hutch: installing $* (apt-get)" >&2
  if ! apt-get install -y -q "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null
  fi
}

# Builds the agent (NativeAOT) and the CLI into artifacts/ when any source is newer than the last build.
ensure_built() {
  # obj/ and bin/ are left out of the check: every build (dotnet test's too) rewrites obj/*.AssemblyInfo.cs
  # when the commit changes (the version carries its hash), which made the next run publish again.
  local root=$1 stamp=$1/artifacts/.build-stamp
  if [[ -f $stamp && -x $root/artifacts/agent/hutch-agent && -x $root/artifacts/cli/hutch && -x $root/artifacts/cli/engine/hutch-engine ]] \
     && [[ -z $(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Packages.props" \
                  \( -name obj -o -name bin \) -prune -o -newer "$stamp" \
                  \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -print -quit) ]]; then
    return 0
  fi
  echo "hutch: building (sources changed)…" >&2
  mkdir -p "$root/artifacts"
  local log=$root/artifacts/build.log
  # The CLI is two programs: `hutch` (NativeAOT, the client commands) and engine/hutch-engine (the
  # daemon and the in-process engine, which `hutch` hands serve, doctor and daemonless runs over to).
  rm -rf "$root/artifacts/cli"
  if ! { dotnet publish "$root/src/Hutch.Agent" -c Release -o "$root/artifacts/agent" -nologo -v q \
         && dotnet publish "$root/src/Hutch.Cli" -c Release -o "$root/artifacts/cli" -nologo -v q \
         && dotnet publish "$root/src/Hutch.Cli.Engine" -c Release -o "$root/artifacts/cli/engine" -nologo -v q \
         && cp "$root/artifacts/agent/hutch-agent" "$root/artifacts/cli/engine/hutch-agent"; } >"$log" 2>&1; then
    grep -E 'error|Error' "$log" | head -20 >&2
    echo "hutch: build failed; full log in $log" >&2
    return 1
  fi
  touch "$stamp"
}

# Installs the npm tools the tests run (eng/npm-tools: redocly, openapi-typescript, openapi-fetch,
# typescript for the OpenAPI tests; the MCP TypeScript SDK for the MCP tests) into
# artifacts/npm-tools, from its lock file, when the lock changed.
# Needs node (20.19 or later) and npm on the PATH; prints the tools' directory.
ensure_npm_tools() {
  local root=$1 dir=$1/artifacts/npm-tools
  command -v npm >/dev/null 2>&1 || { echo "hutch: npm is required for the OpenAPI and MCP tests (node 20.19 or later with npm)" >&2; return 1; }
  if ! cmp -s "$root/eng/npm-tools/package-lock.json" "$dir/package-lock.json" || [[ ! -x $dir/node_modules/.bin/redocly ]]; then
    echo "hutch: installing the tests' npm tools (npm ci)…" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$root/eng/npm-tools/package.json" "$root/eng/npm-tools/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || return 1
  fi
  echo "$dir"
}
