"""The standards tests run on the module's backend (tests/api/conftest.py: SQLite, then
PostGIS), with the planning tests' ``api`` (a dispatcher's key by default) and ``keys``."""

from tests.api.planning.conftest import api, keys

__all__ = ["api", "keys"]
