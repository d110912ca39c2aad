"""Builds the Cython fast path; the package still installs without a compiler.

When the extension cannot be built, ``_fastpath`` falls back to its
pure-Python twin at import (see ``_fastpath/__init__.py``).
"""

import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers: use the twin
            print(f"warning: fast path not built ({exc}); the pure-Python twin will be used", file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: {ext.name} not built ({exc}); the pure-Python twin will be used", file=sys.stderr)


def extensions():
    if os.environ.get("FATHOM_NO_EXTENSIONS"):
        return []
    sources = sorted(glob.glob("_fastpath/*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    return cythonize(sources, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False})


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
