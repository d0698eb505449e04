"""What the benchmarks share: running the test suite's helpers (tests/integration)
against a build directory."""

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def use_build(build):
    """Points the test helpers at `build` (its agent, its Python protobuf bindings) and makes them importable."""
    os.environ["RACKTEL_BUILD_DIR"] = str(pathlib.Path(build).resolve())
    os.environ["RACKTEL_SOURCE_DIR"] = str(ROOT)
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    sys.path.insert(0, str(pathlib.Path(build) / "agent" / "python"))
