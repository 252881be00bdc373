#!/usr/bin/env bash
# The GPU check of the quantized-training backend (benchmarks/train_gpu.py): fp32, bf16, 8-bit and 4-bit on CUDA,
# < 5 min on an H100/H200. Usage: benchmarks/train_gpu.sh NTREX-128-FOLDER [more train_gpu.py options]
# The machine needs torch with CUDA and the project's dependencies (pip install -e .); no network is used.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
NTREX=${1:?give the NTREX-128 folder (copy it into the checkout, e.g. .gpu-data/NTREX-128, and carry it)}
shift
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch ' + torch.__version__ + ' sees no CUDA device')"
"$PY" -c "import tokenizers, pyarrow, pydantic, yaml, tqdm, fsspec" || { echo "missing dependencies: pip install -e ." >&2; exit 1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" benchmarks/train_gpu.py --ntrex "$NTREX" "$@"
