"""The gateway's metadata cache core: an entry serves only requests that read the stamp
it was loaded under, within the expiry, and the cache stays within its capacity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.store.meta_cache import MetaCache


def test_entry_serves_only_its_stamp() -> None:
    cache: MetaCache[str] = MetaCache(capacity=10, expiry=100)
    cache.put("bucket", b"s1", "info-1", now=0)
    assert cache.get("bucket", b"s1", now=1) == "info-1"
    assert cache.get("bucket", b"s2", now=1) is None  # metadata changed since
    assert cache.get("other", b"s1", now=1) is None


def test_entry_expires() -> None:
    cache: MetaCache[str] = MetaCache(capacity=10, expiry=100)
    cache.put("bucket", b"s1", "info-1", now=0)
    assert cache.get("bucket", b"s1", now=99.9) == "info-1"
    assert cache.get("bucket", b"s1", now=100) is None


def test_reload_replaces_entry() -> None:
    cache: MetaCache[str] = MetaCache(capacity=10, expiry=100)
    cache.put("bucket", b"s1", "info-1", now=0)
    cache.put("bucket", b"s2", "info-2", now=5)
    assert cache.get("bucket", b"s1", now=6) is None
    assert cache.get("bucket", b"s2", now=6) == "info-2"
    assert len(cache) == 1


def test_full_cache_drops_oldest() -> None:
    cache: MetaCache[int] = MetaCache(capacity=2, expiry=100)
    cache.put("a", b"s", 1, now=0)
    cache.put("b", b"s", 2, now=0)
    cache.put("a", b"s", 3, now=1)  # reloaded: now the newest
    cache.put("c", b"s", 4, now=2)
    assert cache.get("b", b"s", now=2) is None
    assert cache.get("a", b"s", now=2) == 3
    assert cache.get("c", b"s", now=2) == 4


_events = st.lists(
    st.tuples(st.sampled_from(["put", "get"]), st.sampled_from("abcd"),
              st.sampled_from([b"", b"s1", b"s2"]), st.floats(0, 50)),
    max_size=60,
)


@given(_events, st.integers(1, 4))
def test_matches_a_model(events: list[tuple[str, str, bytes, float]], capacity: int) -> None:
    """Whatever the order of loads and lookups, a lookup returns the value last loaded
    for the name if and only if it was loaded under the same stamp, is still held, and
    is younger than the expiry."""
    cache: MetaCache[int] = MetaCache(capacity=capacity, expiry=20)
    model: dict[str, tuple[bytes, float, int]] = {}
    order: list[str] = []
    for n, (what, name, stamp, now) in enumerate(events):
        if what == "put":
            cache.put(name, stamp, n, now)
            model[name] = (stamp, now, n)
            if name in order:
                order.remove(name)
            order.append(name)
            if len(order) > capacity:
                model.pop(order.pop(0))
        else:
            held = model.get(name)
            want = held[2] if held and held[0] == stamp and now - held[1] < 20 else None
            assert cache.get(name, stamp, now) == want
        assert len(cache) <= capacity
