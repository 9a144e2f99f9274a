#!/usr/bin/env bash
# Build sklstm's engine with AddressSanitizer and UndefinedBehaviorSanitizer
# in a scratch copy of the repository, and run the test suite under them.
#
# Usage, from anywhere, with the Python environment of the tests active
# (numpy, scipy, scikit-learn, Cython, pytest, hypothesis; torch optional):
#
#     tools/sanitize.sh            # exit status 0: no report, no failing test
#     QUICK=1 tools/sanitize.sh    # pass 2 only
#     KEEP=1 tools/sanitize.sh     # keep the scratch copy and its logs
#
# It needs gcc (for -print-file-name of the sanitizer runtimes). The normal
# in-place build of the repository is not touched: the copy holds the files
# git tracks or would track (uncommitted changes included), built anew.
#
# Two passes: the suite with OMP_NUM_THREADS=2 (but for the tests of the
# pure-Python layers, PURE_PYTHON_LAYERS below), then the malformed-input
# catalogue, the property, training-defect, persistence, kernel (on every
# instruction-set path), packed GEMM and gradient tests with OMP_NUM_THREADS=1
# (QUICK=1: this second pass only). Any AddressSanitizer or UBSan report fails
# the run (either ends the test process at its first report, which is then
# printed), and so does a failing test. CI (.ci/run) runs both passes.
#
# Run time on the 2-vCPU development machine (Xeon, otherwise idle): 210 s
# (build 31 s, pass 1 126 s, pass 2 53 s); QUICK=1 86 s. The script prints
# its own times at the end.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sklstm-sanitize.XXXXXX")
if [[ -z "${KEEP:-}" ]]; then
    trap 'rm -rf "$work"' EXIT
fi
start=$SECONDS

git -C "$repo" ls-files -z --cached --others --exclude-standard \
    | (cd "$repo" && tar --null -T - -cf -) | tar -C "$work" -xf -

# -O1 keeps the stack traces readable; -fno-sanitize-recover makes any UBSan
# finding fatal, so that it cannot scroll by unnoticed.
# float-cast-overflow is not part of GCC's "undefined": it catches a NaN or
# an out-of-range float converted to an int.
sanitize="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer"
sanitize+=" -fno-sanitize-recover=undefined,float-cast-overflow"
echo "== building with $sanitize in $work"
(cd "$work" && CFLAGS="$sanitize -O1 -g" LDFLAGS="-fsanitize=address,undefined,float-cast-overflow" \
    python setup.py build_ext --inplace -q >build.log 2>&1) \
    || { tail -50 "$work/build.log"; exit 1; }
built=$SECONDS

# The Python interpreter is not built with ASan, so its runtime must be
# loaded first; CPython keeps memory until exit by design, hence no leak
# detection.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
# allocator_may_return_null: an impossible allocation is a MemoryError in
# Python (one test asks for terabytes), not an ASan abort.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The tests must import this build, not an installed or editable sklstm.
(cd "$work" && python -c 'import pathlib, sys, sklstm
sys.exit(pathlib.Path(sklstm.__file__).resolve().parent != pathlib.Path("sklstm").resolve())') \
    || { echo "python in $work does not import its sanitized sklstm" >&2; exit 1; }

# A report ends its process, so each test file runs in a pytest of its own:
# one finding does not hide the others. --capture=sys leaves the C-level
# stderr, where the reports go, uncaptured (pytest's default fd capture
# would swallow a report along with the process that writes it); the
# catalogue's subprocesses pass their stderr on to it.
status=0
log="$work/sanitize.log"
run_pass() {
    local threads=$1; shift
    for file in "$@"; do
        echo "== OMP_NUM_THREADS=$threads: pytest $file"
        local code=0
        (cd "$work" && OMP_NUM_THREADS=$threads python -m pytest -q -p no:cacheprovider \
            --capture=sys "$file" >"$work/last.log" 2>&1) || code=$?
        cat "$work/last.log" >>"$log"
        grep -E "^(FAILED|ERROR) |^[0-9]+ (passed|failed)|runtime error:|ERROR: Address" \
            "$work/last.log" || true
        if ((code != 0)); then
            status=1
            # A sanitizer report ends the process before pytest's summary.
            grep -qE "^[0-9]+ (passed|failed)" "$work/last.log" \
                || echo "   pytest ended without a summary (exit status $code)"
        fi
    done
}
# Pass 1 leaves out the tests of the pure-Python layers over other libraries
# (aeon, sktime, ONNX export, the docs' examples): they reach the engine
# through the same entry points as the rest of the suite, and under ASan
# their imports and check suites took a third of the pass.
PURE_PYTHON_LAYERS="test_aeon.py test_sktime.py test_onnx.py test_user_guide.py"
if [[ -z "${QUICK:-}" ]]; then
    run_pass 2 $(cd "$work" && ls tests/test_*.py | grep -v -F -f <(tr ' ' '\n' <<<"$PURE_PYTHON_LAYERS"))
fi
pass1=$SECONDS
run_pass 1 tests/test_malformed_inputs.py tests/test_properties.py \
    tests/test_training_defects.py tests/test_persistence.py \
    tests/test_kernels.py tests/test_kernels_isa.py tests/test_recurrent_gemm.py \
    tests/test_gradients.py
pass2=$SECONDS

pattern="runtime error:|ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer"
if grep -qE "$pattern" "$log"; then
    echo "== sanitizer reports ($(grep -cE "runtime error:|ERROR: AddressSanitizer" "$log")):"
    grep -E -A8 "runtime error:|ERROR: AddressSanitizer" "$log" | head -200
    status=1
else
    echo "== no sanitizer report"
fi
echo "== time: build $((built - start)) s, pass 1 $((pass1 - built)) s," \
     "pass 2 $((pass2 - pass1)) s, total $((pass2 - start)) s"
exit $status
