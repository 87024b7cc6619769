#!/usr/bin/env bash
# On the GPU machine, from a copy of the repository carrying .devsite/ (device_prepare.sh):
# the packages and sources prepared there, then every preset at once (device_all.py run).
# Arguments go to 'python -m baselines.recipes.device_all run' (e.g. --minutes 8).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/.devsite/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .devsite/sources ]; then export RVB_SOURCES="$PWD/.devsite/sources"; fi
export PYTHONUNBUFFERED=1
python3 -c "import hdf5plugin, jsonschema, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
exec python3 -m baselines.recipes.device_all run "$@"
