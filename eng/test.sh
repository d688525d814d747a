#!/usr/bin/env bash
# Runs every test: unit, integration (real runc, real daemon) and security tests.
# Installs and builds what is missing first, like ./hutch.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/eng/ensure-deps.sh"
# The tests also drive ps/pgrep and python3 (inside sandboxes, from the host's /usr), perl, gcore (a core of an agent must hold no secret),
# and buildah (an image made from a local directory, no registry, is imported as a template: tests/Hutch.Tests/Templates).
ensure_deps ps:procps pgrep:procps python3:python3 perl:perl-base git:git wget:wget curl:curl cc:gcc gcore:gdb buildah:buildah
# An egress test builds a static C client (cc -static needs libc6-dev's libc.a and headers).
[ -f /usr/include/stdio.h ] || install_packages libc6-dev
# The egress tests run Debian's own pip inside sandboxes (which see the host's /usr, not a pyenv).
[ -d /usr/lib/python3/dist-packages/pip ] || install_packages python3-pip
ensure_built "$root"
# A Debian base (minbase, with apt and dpkg) made once on this host from its own package mirror by
# `hutch template debian --save`, kept between runs: the template tests import it with no network.
ensure_deps mmdebstrap:mmdebstrap
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
export HUTCH_TEST_DEBIAN_ROOTFS=/var/cache/hutch-tests/debian-$suite-minbase.tar
if [[ ! -s $HUTCH_TEST_DEBIAN_ROOTFS ]]; then
  mkdir -p "$(dirname "$HUTCH_TEST_DEBIAN_ROOTFS")"
  "$root/artifacts/cli/hutch" template debian --suite "$suite" --save "$HUTCH_TEST_DEBIAN_ROOTFS.part" >/dev/null
  mv "$HUTCH_TEST_DEBIAN_ROOTFS.part" "$HUTCH_TEST_DEBIAN_ROOTFS"
fi
# The same base with python3-pip (`--include`), for the build that apt-get and pip install from the
# tests' own package index (TemplateBuildNetworkTests): about 70 s and 250 MB, once. Its own file name,
# so a cache made before --include is never taken for it.
export HUTCH_TEST_DEBIAN_PYTHON_ROOTFS=/var/cache/hutch-tests/debian-$suite-minbase-python3-pip.tar
if [[ ! -s $HUTCH_TEST_DEBIAN_PYTHON_ROOTFS ]]; then
  "$root/artifacts/cli/hutch" template debian --suite "$suite" --include python3-pip --save "$HUTCH_TEST_DEBIAN_PYTHON_ROOTFS.part" >/dev/null
  mv "$HUTCH_TEST_DEBIAN_PYTHON_ROOTFS.part" "$HUTCH_TEST_DEBIAN_PYTHON_ROOTFS"
fi
# redocly and a generated TypeScript client check the OpenAPI document (ApiDocumentTests).
ensure_npm_tools "$root" >/dev/null
export HUTCH_AGENT=$root/artifacts/agent/hutch-agent
results=$root/artifacts/test-results
rm -rf "$results"
status=0
dotnet test "$root/tests/Hutch.Tests" -c Release -nologo --logger "trx;LogFileName=tests.trx" \
  --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?
# One plain closing line that any CI reader understands.
trx=$results/tests.trx
if [[ -f $trx ]]; then
  passed=$(grep -o 'passed="[0-9]*"' "$trx" | head -1 | tr -dc 0-9)
  failed=$(grep -o 'failed="[0-9]*"' "$trx" | head -1 | tr -dc 0-9)
  # What failed, and why, at the very end: a CI log is often read from its tail only.
  [[ ${failed:-0} == 0 ]] || python3 "$root/eng/trx-failures.py" "$trx" || true
  echo "${passed:-0} passed, ${failed:-0} failed"
fi
exit $status
