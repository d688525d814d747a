#!/usr/bin/env bash
# Packs the SDK's NuGet packages (Hutch.Protocol, Hutch.Client, Hutch.Client.Sync) into artifacts/packages.
# usage: eng/pack.sh [extra dotnet pack arguments, e.g. -p:Version=0.2.0]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/artifacts/packages
mkdir -p "$out"
for project in Hutch.Protocol Hutch.Client Hutch.Client.Sync; do
  dotnet pack "$root/src/$project" -c Release -o "$out" -nologo -v q "$@"
done
ls "$out"
