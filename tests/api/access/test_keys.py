"""The key store's cache, renewed from the database: keys in use answered from memory, a key
revoked elsewhere refused after the next renewal, one revoked here at once."""

from __future__ import annotations

from pathlib import Path

from api.access.keys import KeyStore, create_key, revoke_key
from api.access.policy import Role
from api.db import Database


def _store(tmp_path: Path) -> tuple[Database, KeyStore]:
    db = Database(f"sqlite:///{tmp_path / 'keys.db'}")
    # a lifetime no test outlasts: only renewals and forgetting change what the cache says
    return db, KeyStore(db, ttl_s=600)


def test_renewal_refuses_a_key_revoked_elsewhere_and_keeps_the_others(tmp_path):
    db, store = _store(tmp_path)
    with db.session() as session:
        (kept, kept_key), (gone, gone_key) = (
            create_key(session, Role.REPORTER),
            create_key(session, Role.PLANNER),
        )
    assert store.verify(kept_key) is not None and store.verify(gone_key) is not None
    with db.session() as session:
        revoke_key(session, gone.id)  # as another worker would: this store is not told
    assert store.cached(gone_key)[1] is not None  # still cached as valid until renewed
    assert store.renew() == 2
    assert store.cached(gone_key) == (True, None)
    hit, principal = store.cached(kept_key)
    assert hit and principal is not None and principal.key_id == kept.id
    assert store.renew() == 1  # a refused key is not read again
    db.dispose()


def test_a_renewal_does_not_bring_back_a_key_forgotten_meanwhile(tmp_path):
    db, store = _store(tmp_path)
    with db.session() as session:
        row, key = create_key(session, Role.REPORTER)
    store.verify(key)
    [(cache_key, seen)] = store._cache.entries()
    with db.session() as session:
        revoke_key(session, row.id)
    store.forget(row.id)  # revoked here: refused at once
    store._cache.renew_many(
        [(cache_key, seen, seen)]
    )  # a renewal that read the row before the revoke
    assert store.cached(key) == (False, None)
    assert store.verify(key) is None
    db.dispose()


def test_following_renews_in_a_thread(tmp_path):
    db, store = _store(tmp_path)
    with db.session() as session:
        row, key = create_key(session, Role.REPORTER)
    store.verify(key)
    with db.session() as session:
        revoke_key(session, row.id)
    store.follow(interval_s=0.01)
    try:
        for _ in range(1000):  # wait for the state: the thread's renewal refuses the key
            if store.cached(key) == (True, None):
                break
            store._following.wait(0.01)  # type: ignore[union-attr]
        assert store.cached(key) == (True, None)
    finally:
        store.close()
        db.dispose()


def test_preloaded_keys_need_no_read_and_revoked_ones_stay_out(tmp_path):
    db, store = _store(tmp_path)
    with db.session() as session:
        (row, key), (gone, gone_key) = (
            create_key(session, Role.DISPATCHER),
            create_key(session, Role.REPORTER),
        )
        revoke_key(session, gone.id)
    assert store.preload() == 1
    hit, principal = store.cached(key)
    assert hit and principal is not None and principal.key_id == row.id
    assert principal.role == Role.DISPATCHER
    assert store.cached(gone_key) == (False, None) and store.verify(gone_key) is None
    db.dispose()
