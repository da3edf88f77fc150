"""The Wangge HTTP service: FastAPI application, settings, persistence and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("wangge")
except PackageNotFoundError:  # a source tree that is not installed
    VERSION = "0.0.0"
