"""mypy over the product code as it is imported: the `hawatch.*` namespace.

The folders store/, collector/, analytics/, dashboard/ and simulator/ install as
sub-packages of hawatch through setup.py's package_dir, which mypy cannot follow
from the source tree (the editable install is a finder hook, not a path). So the
namespace is rebuilt here as a tree of symbolic links in a temporary folder, and
mypy checks that: the same module names the code and the tests import.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("store", "collector", "analytics", "dashboard", "simulator")


def link_namespace(into: Path) -> Path:
    """hawatch/ with its own modules and each product folder linked in as a sub-package."""
    package = into / "hawatch"
    package.mkdir()
    for entry in (ROOT / "hawatch").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in FOLDERS:
        (package / folder).symlink_to(ROOT / folder)
    return into


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hawatch-mypy-") as tmp:
        tree = link_namespace(Path(tmp))
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "-p",
            "hawatch",
        ]
        return subprocess.run(command, cwd=tree, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
