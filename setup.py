"""The one compiled module: the index query's inner loops (``retrieval/kernels.pyx``), built by Cython at
install time. Everything else about the project is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "retrieval.kernels",
            ["retrieval/kernels.pyx"],
            # No fused multiply-add (the default on processors that have one, such as arm64): a BM25
            # weight must be the same float as numpy's and rank-bm25's, to the last bit.
            extra_compile_args=["-O2", "-ffp-contract=off"],
        )
    ]
)
