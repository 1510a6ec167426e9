#!/usr/bin/env bash
# Download the wheels the GPU check needs and the lent GPU machine lacks (it has no package index; it runs
# Python 3.12 with its own torch, numpy, opencv-python-headless, click, tqdm and msgpack; see
# docs/engine.md, "GPU check"). They land in .gpu_wheels/ (git-ignored), which `run` carries:
#
#     bash benchmarks/fetch_gpu_wheels.sh            # OpenImageIO, opencolorio, pyzmq, fileseq (~16 MB)
#     bash benchmarks/fetch_gpu_wheels.sh --with-av  # + PyAV (~36 MB more; only the QC movie and video plates need it)
#
# GPU_WHEELS_DIR and GPU_WHEELS_PYTHON (default 3.12) change where they go and for which Python.
# The versions are the ones the project's tests pass with here.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${GPU_WHEELS_DIR:-.gpu_wheels}
pyver=${GPU_WHEELS_PYTHON:-3.12}
abi=cp${pyver/./}
pip=${PIP:-python3 -m pip}
packages=(OpenImageIO==3.2.2.0 opencolorio==2.6.0 pyzmq==27.3.0 fileseq==3.4.0)
case "${1:-}" in
    --with-av) packages+=(av==18.1.0) ;;
    "") ;;
    *) echo "usage: $0 [--with-av]" >&2; exit 2 ;;
esac
mkdir -p "$dest"
for package in "${packages[@]}"; do
    $pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
        --abi "$abi" --abi abi3 --abi none \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_26_x86_64 \
        --platform manylinux_2_28_x86_64 --platform any -d "$dest" "$package" 2> >(grep -v "is ignored: it is neither" >&2)
done
ls -l "$dest"
du -ch "$dest"/*.whl | tail -1
