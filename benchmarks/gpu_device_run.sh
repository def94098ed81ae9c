#!/usr/bin/env bash
# One prepared run on a GPU machine with no internet (see README "Speed"): GL set-up check, the
# throughput curve against worker count, and optionally the YCB-V experiment.
#   bash benchmarks/gpu_device_run.sh [throughput|experiment|all] [FRAMES] [EXPERIMENT --set ARGS...]
# Expects, in the repository root: .whl/ (wheels of the deps the machine lacks, for its Python:
# pure-Python ones, plus isal's binary wheel and PyOpenGL 3.1.9 for Python 3.12) and .gl/
# (Debian's libglvnd/EGL loader packages); writes logs to $OUT (or ./gpu_out).
set -uo pipefail
what=${1:-all}
frames=${2:-1000}
shift $(( $# < 2 ? $# : 2 ))
out=${OUT:-gpu_out}
mkdir -p "$out"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYOPENGL_PLATFORM=egl PYGLET_HEADLESS=1 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 - <<'PY' 2>&1 | tee -a "$out/gpu.txt"
from vizsynth.render.context import GLContext
from OpenGL import GL
ctx = GLContext(64, 48, False)
print("GL_RENDERER:", GL.glGetString(GL.GL_RENDERER).decode(), "| GL_VERSION:", GL.glGetString(GL.GL_VERSION).decode())
ctx.close()
PY
if [ "$what" = throughput ] || [ "$what" = all ]; then
  python3 benchmarks/throughput.py -n "$frames" --workers 1 2 4 8 16 2>&1 | tee "$out/throughput.txt"
fi
if [ "$what" = experiment ] || [ "$what" = all ]; then
  python3 -m vizsynth experiment configs/experiments/ycbv_dr.yaml --out /tmp/ycbv_dr --device cuda "$@" 2>&1 \
    | tr '\r' '\n' | grep -v "it/s\]$\|frame/s\]$" | tee "$out/experiment.txt"
  for f in results.json results.md ap50.png; do cp "/tmp/ycbv_dr/$f" "$out/" 2>/dev/null; done
fi
