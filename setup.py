"""Build of sklstm's compiled core: the Cython engine and the C kernels.

OpenMP is detected by compiling and linking a small test program with
``-fopenmp``; where that fails the engine is built serially, with a warning.
BLAS needs nothing at build time: the engine calls scipy's ``cython_blas``.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
OPENMP_TEST = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d", n >= 1 && omp_get_max_threads() >= 1);
    return 0;
}
"""


def openmp_flags(compiler):
    """Compile and link flags for OpenMP, or empty ones when it does not work."""
    if os.environ.get("SKLSTM_NO_OPENMP"):
        return [], []
    cc = compiler.compiler_so[0] if hasattr(compiler, "compiler_so") else "cc"
    flags = ["/openmp"] if compiler.compiler_type == "msvc" else ["-fopenmp"]
    link = [] if compiler.compiler_type == "msvc" else ["-fopenmp"]
    tmp = Path(tempfile.mkdtemp())
    try:
        (tmp / "test.c").write_text(OPENMP_TEST)
        exe = tmp / "test"
        subprocess.run([cc, *flags, "test.c", "-o", exe.name, *link], cwd=tmp,
                       check=True, capture_output=True)
        ok = subprocess.run([str(exe)], check=True, capture_output=True).stdout == b"1"
    except (OSError, subprocess.CalledProcessError):
        ok = False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        warnings.warn("OpenMP is not available with this compiler: sklstm is "
                      "built without threads (training and prediction run serially).")
        return [], []
    return flags, link


class BuildExt(build_ext):
    def build_extensions(self):
        compile_flags, link_flags = openmp_flags(self.compiler)
        for ext in self.extensions:
            ext.extra_compile_args += compile_flags
            ext.extra_link_args += link_flags
        super().build_extensions()


# -fno-trapping-math: sklstm never traps floating-point exceptions, so the
# compiler may evaluate both arms of a select, which vectorizes the cell
# kernels' activations; results are the same IEEE operations.
# -fno-math-errno: sklstm never reads errno, and a sqrt that may set it is a
# branch to libm in every iteration, which keeps the Adam and RMSprop updates
# scalar; the square roots are the same correctly rounded ones.
# -std=c99 also keeps multiply-adds uncontracted (-ffp-contract=off), so the
# per-instruction-set copies of the kernels give the portable copy's bits.
extra_compile_args = ([] if sys.platform == "win32"
                      else ["-O3", "-std=c99", "-fno-trapping-math", "-fno-math-errno"])
extensions = [
    Extension(
        "sklstm._engine",
        sources=["sklstm/_engine.pyx", "src_c/kernels.c", "src_c/dispatch.c",
                 "src_c/recurrent_gemm.c", "src_c/threads.c"],
        include_dirs=["src_c", np.get_include()],
        # A changed header or template rebuilds the C files that include it.
        depends=sorted(glob.glob("src_c/*.h")),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=extra_compile_args,
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
