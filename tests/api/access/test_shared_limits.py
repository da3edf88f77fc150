"""The rate limit shared by workers: two limiters on one database (as two workers would be)
admit a key's limit between them, not each."""

from __future__ import annotations

import time
from pathlib import Path

from api.access.limits import SharedRateLimiter
from api.db import Database


def test_two_limiters_on_one_database_share_a_keys_limit(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    one = SharedRateLimiter(db, 30, sync_s=3600)  # synced by hand below, not by their threads
    other = SharedRateLimiter(db, 30, sync_s=3600)
    try:
        window = int(time.time() // 60)
        assert [one.allow(7) for _ in range(20)] == [0.0] * 20
        one.sync(window)
        other.sync(window)
        admitted = [other.allow(7) for _ in range(30)].count(0.0)
        # what is left of the key's minute (one less or more at a minute's turn)
        assert abs(admitted - 10) <= 1
        assert other.allow(7) > 0  # refused, with the seconds to wait
        assert other.allow(8) == 0.0  # another key has its own budget
        other.sync(window)
        one.sync(window)
        assert one.allow(7) > 0  # and the first worker now sees the second's share
    finally:
        one.close()
        other.close()
        db.dispose()


def test_counts_older_than_the_last_minute_are_purged(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    limiter = SharedRateLimiter(db, 30, sync_s=3600)
    try:
        window = int(time.time() // 60)
        limiter.allow(1)
        limiter.sync(window)
        limiter.sync(window + 2, purge=True)  # two minutes later
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM rate_counts").scalar() == 0
    finally:
        limiter.close()
        db.dispose()
