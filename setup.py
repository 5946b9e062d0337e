"""Builds collector._fastscan, the C line scanner; all metadata lives in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("collector._fastscan", ["collector/fastscan.c"],
                             extra_compile_args=["-O3"])])
