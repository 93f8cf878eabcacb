"""Exit non-zero unless this Python can build and load a C extension as Triton does.

`hpsearch --compile` runs `torch.compile`, whose CUDA backend, Triton, compiles a small C
launcher for each kernel while trials run: it looks for `$CC`, else `gcc`, else `clang`, and
builds a shared library against the Python headers. The Dockerfile runs this check, so an image
without a compiler or headers fails to build instead of failing every trial that asks for
--compile (pytorch/pytorch#116696). Needs no GPU.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

EXTENSION = """
#include <Python.h>
#include <stdlib.h>

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "launcher_check", NULL, -1, methods};
PyMODINIT_FUNC PyInit_launcher_check(void) { return PyModule_Create(&module); }
"""


def compiler() -> str | None:
    """The C compiler Triton would use: $CC, else gcc, else clang."""
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("clang")


def main() -> int:
    cc = compiler()
    if cc is None:
        print("no C compiler: torch.compile (Triton) needs gcc or clang on PATH, or $CC",
              file=sys.stderr)
        return 1
    include = sysconfig.get_paths()["include"]
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "launcher_check.c"
        source.write_text(EXTENSION)
        library = Path(directory) / f"launcher_check{sysconfig.get_config_var('EXT_SUFFIX')}"
        built = subprocess.run([cc, str(source), "-O3", "-shared", "-fPIC", f"-I{include}",
                                "-o", str(library)], capture_output=True, text=True)
        if built.returncode != 0:
            print(f"{cc} cannot build a Python extension against {include}:\n{built.stderr}",
                  file=sys.stderr)
            return 1
        spec = importlib.util.spec_from_file_location("launcher_check", library)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if module.answer() != 42:
            print(f"the extension {cc} built does not run correctly", file=sys.stderr)
            return 1
    print(f"{cc} builds Python extensions against {include}: torch.compile can compile here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
