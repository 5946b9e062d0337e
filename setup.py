"""Packages and the optional C extension; all other metadata lives in pyproject.toml.

One installed namespace: the product's folders stay at the top of the repository (store/,
collector/, analytics/, dashboard/, simulator/, sample_logs/) and install as sub-packages of
`hawatch` through package_dir, for wheels and editable installs alike, so installing hawatch
adds exactly one top-level package. Sub-packages are found by walking each folder (hawatch/
too), so a new one (collector/pollers/, hawatch/commands/, ...) needs no edit here.

`optional=True`: on a machine without a C compiler the install still succeeds and ingest
uses the SQL field extraction (hawatch.collector.vendors.sonicos.parse._FIELDS), same rows,
slower; `hawatch --version` says which is active.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

FOLDERS = ("store", "collector", "analytics", "dashboard", "simulator")
HERE = Path(__file__).resolve().parent


def packages() -> tuple[list[str], dict[str, str]]:
    names, dirs = (
        ["hawatch.sample_logs"],
        {"hawatch": "hawatch", "hawatch.sample_logs": "sample_logs"},
    )
    for init in sorted((HERE / "hawatch").rglob("__init__.py")):  # hawatch/commands/, ...
        parts = init.parent.relative_to(HERE).parts
        if "__pycache__" not in parts:
            names.append(".".join(parts))
    for folder in FOLDERS:
        dirs[f"hawatch.{folder}"] = folder
        for init in sorted((HERE / folder).rglob("__init__.py")):
            parts = init.parent.relative_to(HERE).parts
            if "__pycache__" not in parts:
                names.append(".".join(("hawatch", *parts)))
    return names, dirs


NAMES, DIRS = packages()


class BuildPyWithSchemaDoc(build_py):
    """Ships docs/schema.md in the package as hawatch/store/schema.md: the SQL console's
    schema browser reads it and links to it, offline, in a wheel install too (the checkout
    reads docs/schema.md; MANIFEST.in puts it in the sdist the wheel is built from)."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "hawatch" / "store" / "schema.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(HERE / "docs" / "schema.md"), str(target))


setup(
    cmdclass={"build_py": BuildPyWithSchemaDoc},
    packages=NAMES,
    package_dir=DIRS,
    package_data={
        "hawatch.store": ["migrations/*.sql"],
        "hawatch.dashboard": ["templates/*.html", "static/*"],
        "hawatch.sample_logs": ["*.csv", "*.json", "syslog/*", "exports/*"],
    },
    ext_modules=[
        Extension(
            "hawatch.collector.vendors.sonicos._fastscan",
            ["collector/vendors/sonicos/fastscan.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ],
)
