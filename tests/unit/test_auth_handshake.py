"""Handshakes: mutual proof, tickets for OSDs, and what an attacker cannot do."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.auth.crypto import CryptoKey
from radospy.auth.database import AuthDatabase
from radospy.auth.errors import AuthError
from radospy.auth.handshake import (
    CephxClient,
    CephxMonServer,
    CephxServiceServer,
    MonAuthClient,
    MonAuthServer,
    RotatingSecrets,
    ServiceAuthClient,
    ServiceAuthServer,
    issue_ticket,
)
from radospy.auth.keyring import EntityName
from radospy.msg.auth import AuthResult

NOW = 1_000_000.0
TTL = 3600.0
ADMIN = EntityName.parse("client.admin")
CAPS = {"mon": "allow r", "osd": "allow rw pool=foo"}


def make_db() -> tuple[AuthDatabase, CryptoKey]:
    db = AuthDatabase()
    key = CryptoKey.generate(NOW)
    db.add(ADMIN, CAPS, key)
    for svc in ("mon", "osd", "mgr"):
        for i in range(3):
            db.rotate(svc, NOW, TTL, bytes([i + 1]) * 16 + svc.encode())
    return db, key


def mon_server(db: AuthDatabase, now: float = NOW, global_id: int = 4100) -> MonAuthServer:
    return MonAuthServer(db.lookup, db.rotating, global_id=global_id, decoy_seed=b"seed", now=now)


def run_mon(client: MonAuthClient, server: MonAuthServer) -> tuple[AuthResult, AuthResult]:
    challenge = server.step(client.start())
    assert challenge.result is None
    done = server.step(client.step(challenge.reply))
    assert done.result is not None
    return client.finish(done.reply), done.result


def test_mon_handshake_is_mutual_and_issues_tickets() -> None:
    db, key = make_db()
    client = MonAuthClient("client.admin", key, "mon.a")
    mine, theirs = run_mon(client, mon_server(db))
    assert theirs.peer_name == "client.admin" and theirs.caps == CAPS
    assert theirs.global_id == 4100 == client.session.global_id
    assert mine.session_key == theirs.session_key and len(mine.session_key) == 32
    assert set(client.session.tickets) == {"mon", "osd", "mgr"}


def test_session_keys_differ_per_session() -> None:
    db, key = make_db()
    a = run_mon(MonAuthClient("client.admin", key, "mon.a"), mon_server(db))[0]
    b = run_mon(MonAuthClient("client.admin", key, "mon.a"), mon_server(db))[0]
    assert a.session_key != b.session_key


def test_no_secret_on_the_wire() -> None:
    db, key = make_db()
    client, server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    hello = client.start()
    challenge = server.step(hello)
    proof = client.step(challenge.reply)
    done = server.step(proof)
    for frame in (hello, challenge.reply, proof, done.reply):
        assert key.secret not in frame
        assert done.result is not None and done.result.session_key not in frame


def failure_of(entity: str, key: CryptoKey, db: AuthDatabase) -> tuple[type, int, str, int]:
    client, server = MonAuthClient(entity, key, "mon.a"), mon_server(db)
    challenge = server.step(client.start())
    with pytest.raises(AuthError) as e:
        server.step(client.step(challenge.reply))
    return type(e.value), e.value.errno, str(e.value), len(challenge.reply)


@given(st.binary(min_size=16, max_size=16), st.sampled_from(["client.nobody", "osd.7", "x"]))
@settings(max_examples=50)
def test_wrong_key_never_authenticates_and_unknown_entity_looks_the_same(
    secret: bytes, unknown: str
) -> None:
    db, key = make_db()
    wrong = CryptoKey(key.type, key.created_sec, key.created_nsec, secret)
    if secret != key.secret:
        wrong_key = failure_of("client.admin", wrong, db)
        no_entity = failure_of(unknown, wrong, db)
        assert wrong_key[:3] == no_entity[:3] == (AuthError, errno.EACCES, "permission denied")
        assert wrong_key[3] == no_entity[3]


def test_replayed_proof_from_another_session_is_rejected() -> None:
    db, key = make_db()
    client, server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    hello = client.start()
    recorded_proof = client.step(server.step(hello).reply)
    server.step(recorded_proof)
    replay_server = mon_server(db)
    replay_server.step(hello)
    with pytest.raises(AuthError):
        replay_server.step(recorded_proof)


def test_frames_out_of_order_are_rejected() -> None:
    db, key = make_db()
    client, server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    hello = client.start()
    challenge = server.step(hello)
    with pytest.raises(AuthError):
        server.step(hello)
    with pytest.raises(AuthError):
        server.step(b"")
    client2 = MonAuthClient("client.admin", key, "mon.a")
    proof = client2.step(challenge.reply)
    with pytest.raises(AuthError):
        client2.step(challenge.reply)
    with pytest.raises(AuthError):
        client2.finish(proof)


def test_client_rejects_a_done_it_did_not_earn() -> None:
    """A monitor impostor cannot forge the server proof; replaying a real one fails too."""
    db, key = make_db()
    old_client, old_server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    old_done = old_server.step(old_client.step(old_server.step(old_client.start()).reply))
    client, server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    client.step(server.step(client.start()).reply)
    with pytest.raises(AuthError, match="server failed to prove"):
        client.finish(old_done.reply)


def tamper(frame: bytes, i: int, flip: int) -> bytes:
    return frame[:i] + bytes([frame[i] ^ flip]) + frame[i + 1 :]


@given(st.data())
@settings(max_examples=60)
def test_tampered_frames_never_authenticate(data: st.DataObject) -> None:
    db, key = make_db()
    client, server = MonAuthClient("client.admin", key, "mon.a"), mon_server(db)
    which = data.draw(st.sampled_from(["hello", "challenge", "proof", "done"]))
    frames: dict[str, bytes] = {}

    def maybe(name: str, frame: bytes) -> bytes:
        frames[name] = frame
        if name != which:
            return frame
        i = data.draw(st.integers(0, len(frame) - 1))
        return tamper(frame, i, data.draw(st.integers(1, 255)))

    with pytest.raises(AuthError):
        challenge = server.step(maybe("hello", client.start()))
        proof = client.step(maybe("challenge", challenge.reply))
        done = server.step(maybe("proof", proof))
        client.finish(maybe("done", done.reply))


def osd_exchange(ticket_holder: MonAuthClient, db: AuthDatabase, now: float) -> AuthResult:
    ticket = ticket_holder.session.tickets["osd"]
    client = ServiceAuthClient(ticket, "osd.0")
    server = ServiceAuthServer("osd", db.rotating["osd"], now=now)
    step = server.step(client.start())
    done = server.step(client.step(step.reply))
    assert done.result is not None
    mine = client.finish(done.reply)
    assert mine.session_key == done.result.session_key
    return done.result


def test_osd_validates_ticket_with_service_secret_only() -> None:
    db, key = make_db()
    client = MonAuthClient("client.admin", key, "mon.a")
    run_mon(client, mon_server(db))
    osd_secrets = RotatingSecrets(dict(db.rotating["osd"].secrets))
    only_osd = AuthDatabase(rotating={"osd": osd_secrets})
    result = osd_exchange(client, only_osd, NOW + 10)
    assert (result.peer_name, result.global_id, result.caps) == ("client.admin", 4100, CAPS)


def test_expired_ticket_rejected() -> None:
    db, key = make_db()
    client = MonAuthClient("client.admin", key, "mon.a")
    run_mon(client, mon_server(db))
    with pytest.raises(AuthError):
        osd_exchange(client, db, NOW + TTL + 1)


def test_ticket_for_another_service_rejected() -> None:
    db, key = make_db()
    client = MonAuthClient("client.admin", key, "mon.a")
    run_mon(client, mon_server(db))
    mgr_ticket = client.session.tickets["mgr"]
    server = ServiceAuthServer("osd", db.rotating["osd"], now=NOW)
    with pytest.raises(AuthError):
        server.step(ServiceAuthClient(mgr_ticket, "osd.0").start())


@given(st.data())
@settings(max_examples=60)
def test_tampered_tickets_rejected(data: st.DataObject) -> None:
    db, _ = make_db()
    ticket = issue_ticket("osd", db.rotating["osd"], "client.admin", 1, CAPS, NOW, TTL)
    i = data.draw(st.integers(0, len(ticket.blob) - 1))
    forged = type(ticket)(
        ticket.service,
        ticket.secret_id,
        tamper(ticket.blob, i, data.draw(st.integers(1, 255))),
        ticket.session_key,
        ticket.expires,
    )
    server = ServiceAuthServer("osd", db.rotating["osd"], now=NOW)
    with pytest.raises(AuthError):
        server.step(ServiceAuthClient(forged, "osd.0").start())


def test_holding_a_ticket_without_its_session_key_is_useless() -> None:
    db, _ = make_db()
    ticket = issue_ticket("osd", db.rotating["osd"], "client.admin", 1, CAPS, NOW, TTL)
    stolen = type(ticket)(ticket.service, ticket.secret_id, ticket.blob, b"\0" * 32, ticket.expires)
    client = ServiceAuthClient(stolen, "osd.0")
    server = ServiceAuthServer("osd", db.rotating["osd"], now=NOW)
    step = server.step(client.start())
    with pytest.raises(AuthError):
        server.step(client.step(step.reply))


def test_rotation_keeps_previous_secret_valid() -> None:
    rotating = RotatingSecrets()
    while rotating.needs_rotation(NOW):
        rotating.rotate(NOW, TTL, b"s%d" % len(rotating.secrets) * 8)
    assert len(rotating.secrets) == 3 and not rotating.needs_rotation(NOW)
    ticket = issue_ticket("osd", rotating, "client.a", 1, {}, NOW, TTL)
    later = NOW + 2 * TTL + 1
    assert rotating.needs_rotation(later)
    rotating.rotate(later, TTL, b"new" * 8)
    assert ticket.secret_id in rotating.secrets
    assert rotating.current()[0] != ticket.secret_id
    server = ServiceAuthServer("osd", rotating, now=NOW + TTL - 1)
    client = ServiceAuthClient(ticket, "osd.0")
    step = server.step(client.start())
    assert server.step(client.step(step.reply)).result is not None


def test_messenger_adapters() -> None:
    db, key = make_db()
    ids = iter(range(5000, 6000))
    clock = lambda: NOW  # noqa: E731
    cephx = CephxClient("client.admin", key, clock)
    with pytest.raises(AuthError, match="no valid ticket"):
        cephx.client("client.admin", "osd.0")
    mon = CephxMonServer(db.lookup, db.rotating, lambda: next(ids), clock)
    c, s = cephx.client("client.admin", "mon.a"), mon.server("mon.a", "client.admin")
    step = s.step(c.start())
    done = s.step(c.step(step.reply))
    assert c.finish(done.reply).peer_name == "mon.a"
    osd = CephxServiceServer("osd", db.rotating["osd"], clock)
    c2, s2 = cephx.client("client.admin", "osd.3"), osd.server("osd.3", "client.admin")
    step2 = s2.step(c2.start())
    done2 = s2.step(c2.step(step2.reply))
    assert done2.result is not None and done2.result.global_id == 5000
    assert c2.finish(done2.reply).session_key == done2.result.session_key
