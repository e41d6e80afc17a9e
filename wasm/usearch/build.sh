#!/usr/bin/env bash
# Builds wasm/usearch/usearch.wasm: USearch's index_dense (headers from node_modules/usearch, pinned in
# package-lock.json) behind the C ABI in usearch_shim.cpp, for wasm32-wasi with SIMD128.
#
#   wasm/usearch/build.sh [OUTPUT.wasm]      (default: wasm/usearch/usearch.wasm)
#
# Installs nothing: when a tool is missing it names the Debian packages and exits with status 3.
# The output is byte-for-byte reproducible: no paths, timestamps or debug sections end up in it
# (test/node/ann/wasm-build.test.ts rebuilds and compares with the committed file).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
output="${1:-$here/usearch.wasm}"

readonly expected_usearch_version="2.26.2"
readonly debian_packages="clang-14 lld-14 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32 wasi-libc binaryen"

missing=()
command -v clang++-14 >/dev/null || missing+=("clang++-14 (clang-14)")
command -v wasm-ld-14 >/dev/null || missing+=("wasm-ld-14 (lld-14)")
command -v wasm-opt >/dev/null || missing+=("wasm-opt (binaryen)")
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || missing+=("wasm32-wasi libc (wasi-libc)")
[[ -f /usr/lib/wasm32-wasi/libwasi-emulated-mman.a ]] || missing+=("wasi emulated mman (wasi-libc)")
[[ -f /usr/lib/wasm32-wasi/libc++.a ]] || missing+=("wasm32 libc++ (libc++-14-dev-wasm32)")
[[ -f /usr/lib/wasm32-wasi/libc++abi.a ]] || missing+=("wasm32 libc++abi (libc++abi-14-dev-wasm32)")
compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" >/dev/null ||
  missing+=("wasm32 compiler-rt builtins (libclang-rt-14-dev-wasm32)")
if ((${#missing[@]})); then
  echo "build.sh: missing toolchain pieces: ${missing[*]}" >&2
  echo "build.sh: install them with: apt-get install -y $debian_packages" >&2
  exit 3
fi

usearch_dir="$root/node_modules/usearch"
actual_version="$(node -p "require('$usearch_dir/package.json').version" 2>/dev/null || echo none)"
if [[ "$actual_version" != "$expected_usearch_version" ]]; then
  echo "build.sh: expected usearch $expected_usearch_version in node_modules (run npm ci), found $actual_version" >&2
  exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Relative paths only, so nothing machine-specific can reach the binary.
cd "$root"
export LC_ALL=C SOURCE_DATE_EPOCH=0
compile_flags=(
  --target=wasm32-wasi --sysroot=/usr
  -std=c++17 -O3 -DNDEBUG
  -msimd128 -fno-exceptions -fno-rtti
  -mexec-model=reactor
  -D_WASI_EMULATED_MMAN
  -DUSEARCH_USE_NUMKONG=0 -DUSEARCH_USE_OPENMP=0
  -I wasm/usearch/compat -I node_modules/usearch/include
  -ffile-prefix-map="$root"=. -ffile-prefix-map="$work"=.
  -Wno-unused-parameter
)
# No --strip-all at link time: it would drop the target_features section, and the automatic wasm-opt pass
# of the linker would then refuse SIMD. wasm-opt runs below with SIMD enabled, and strips afterwards.
link_flags=(
  -Wl,--no-entry -Wl,--export=_initialize
  -lwasi-emulated-mman
)
clang++-14 "${compile_flags[@]}" wasm/usearch/usearch_shim.cpp "${link_flags[@]}" -o "$work/linked.wasm"

wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int \
  --strip-debug --strip-producers \
  "$work/linked.wasm" -o "$work/optimized.wasm"

mkdir -p "$(dirname "$output")"
cp "$work/optimized.wasm" "$output"
bytes=$(wc -c <"$output")
echo "build.sh: wrote $output ($bytes bytes)"
