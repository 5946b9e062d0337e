"""Builds collector._fastscan, the C line scanner; all metadata lives in pyproject.toml.

`optional=True`: on a machine without a C compiler the install still succeeds and ingest
uses the SQL field extraction (collector.parse_sonicos._FIELDS), same rows, slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("collector._fastscan", ["collector/fastscan.c"],
                             extra_compile_args=["-O3"], optional=True)])
