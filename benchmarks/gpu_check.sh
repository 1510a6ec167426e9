#!/usr/bin/env bash
# Issue 23's GPU check on the lent GPU machine (Python 3.12 with its own torch; no package index):
# installs the carried wheels (benchmarks/fetch_gpu_wheels.sh, folder .gpu_wheels/) into a target folder
# where a module the check imports is missing, then runs benchmarks/gpu_check.py with the given arguments
# from this source folder (no install of the project). docs/engine.md, "GPU check", has the `run` command.
#
#     bash benchmarks/gpu_check.sh                  # full sizes on CUDA, 420 s budget
#     bash benchmarks/gpu_check.sh --cpu            # tiny sizes on the CPU (what tests/test_gpu_check.py runs)
#
# GPU_WHEELS_DIR (default .gpu_wheels), GPU_CHECK_SITE (default /tmp/omnivfx_site) and PYTHON (default python3)
# change where the wheels are, where they go and which Python runs.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=${GPU_WHEELS_DIR:-.gpu_wheels}
site=${GPU_CHECK_SITE:-/tmp/omnivfx_site}
python=${PYTHON:-python3}
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! "$python" -c "import OpenImageIO, fileseq, cv2, torch" 2>/dev/null; then
    if ! compgen -G "$wheels/*.whl" >/dev/null; then
        echo "gpu_check.sh: OpenImageIO or fileseq is missing and $wheels/ holds no wheels: run" \
             "benchmarks/fetch_gpu_wheels.sh where pip reaches an index, and carry $wheels" >&2
        exit 2
    fi
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl
fi
exec "$python" benchmarks/gpu_check.py "$@"
