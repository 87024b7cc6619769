#!/usr/bin/env bash
# Before a device call, here (network to PyPI needed): put into .devsite/ (git-ignored) what
# the GPU machine lacks: the Python packages it has not (extracted cp312 manylinux wheels;
# hdf5plugin cut to the three filters generators/codecs.py uses and stripped, 46 MB -> ~3 MB)
# and the MNIST / Fashion-MNIST files of the clutter preset (from $RVB_SOURCES, default
# ../shared/data). Then call the device with carry [".devsite"] and the command
#   bash baselines/recipes/device_all.sh --minutes 8
set -euo pipefail
cd "$(dirname "$0")/../.."
SITE=.devsite/site
SOURCES=${RVB_SOURCES:-../shared/data}
WHEELS=$(mktemp -d)
trap 'rm -rf "$WHEELS"' EXIT
rm -rf .devsite && mkdir -p "$SITE" .devsite/sources
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$WHEELS" \
  hdf5plugin==7.1.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==0.30.0
for wheel in "$WHEELS"/*.whl; do
  python3 -m zipfile -e "$wheel" "$SITE"
done
find "$SITE/hdf5plugin/plugins" -name 'libh5*.so' \
  ! -name libh5blosc.so ! -name libh5zstd.so ! -name libh5lz4.so -delete
strip --strip-unneeded "$SITE"/hdf5plugin/plugins/*.so
for source in mnist fashion-mnist; do
  if [ -d "$SOURCES/$source" ]; then
    cp -r "$SOURCES/$source" .devsite/sources/
  else
    echo "no $SOURCES/$source: the clutter preset will be skipped on the device" >&2
  fi
done
du -sh .devsite/site .devsite/sources
