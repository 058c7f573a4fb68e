"""The auth database and the `ceph auth` output shapes."""

from __future__ import annotations

import errno
import json

import pytest

from radospy.auth.crypto import CryptoKey
from radospy.auth.database import AuthDatabase, format_key, format_keyring, format_ls
from radospy.auth.keyring import EntityName, Keyring
from radospy.common.errors import InvalidArgument, NotFound

KEY = CryptoKey.from_base64("AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==")
OTHER = CryptoKey.from_base64("AQCH6gprWbNuLhAAMRkssUMhYpFk7mGDyeKYSA==")
ADMIN = EntityName.parse("client.admin")
OSD0 = EntityName.parse("osd.0")


def make_db() -> AuthDatabase:
    db = AuthDatabase()
    db.add(ADMIN, {"mon": "allow *", "osd": "allow *"}, KEY)
    db.add(OSD0, {"mon": "allow profile osd", "osd": "allow *"}, OTHER)
    return db


def test_get_or_create_returns_existing_when_caps_match() -> None:
    db = make_db()
    assert db.get_or_create(ADMIN, {"mon": "allow *"}, OTHER).key == KEY
    with pytest.raises(InvalidArgument, match=r"key for client\.admin exists but cap mon does"):
        db.get_or_create(ADMIN, {"mon": "allow r"}, OTHER)
    new = db.get_or_create(EntityName.parse("client.new"), {"osd": "allow r pool=a"}, OTHER)
    assert new.key == OTHER and new.caps == {"osd": "allow r pool=a"}


def test_bad_caps_refused_and_nothing_changes() -> None:
    db = make_db()
    before = db.to_dict()
    with pytest.raises(InvalidArgument, match="osd capability parse failed"):
        db.set_caps(ADMIN, {"osd": "allow bogus"})
    with pytest.raises(InvalidArgument, match="unknown cap type 'foo'"):
        db.get_or_create(EntityName.parse("client.x"), {"foo": "allow r"}, KEY)
    assert db.to_dict() == before


def test_missing_entities_are_enoent() -> None:
    db = make_db()
    missing = EntityName.parse("client.nope")
    for op in (
        lambda: db.get(missing),
        lambda: db.delete(missing),
        lambda: db.set_caps(missing, {}),
    ):
        with pytest.raises(NotFound, match=r"failed to find client\.nope in keyring") as e:
            op()
        assert e.value.errno == errno.ENOENT


def test_add_refuses_a_different_key() -> None:
    db = make_db()
    with pytest.raises(InvalidArgument, match=r"entity client\.admin exists but key does not"):
        db.add(ADMIN, {}, OTHER)


def test_delete_import_and_snapshot_round_trip() -> None:
    db = make_db()
    db.delete(OSD0)
    assert [str(n) for n, _ in db.ls()] == ["client.admin"]
    db.import_keyring(
        Keyring.parse(
            '[osd.1]\n\tkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n\tcaps osd = "allow *"\n'
        )
    )
    db.rotate("osd", 100.0, 3600.0, b"s" * 16)
    again = AuthDatabase.from_dict(json.loads(json.dumps(db.to_dict())))
    assert again.to_dict() == db.to_dict()
    assert again.rotating["osd"].get(1) == b"s" * 16


def test_ls_plain_and_json_shapes() -> None:
    db = make_db()
    assert format_ls(db) == (
        "osd.0\n\tkey: AQCH6gprWbNuLhAAMRkssUMhYpFk7mGDyeKYSA==\n"
        "\tcaps: [mon] allow profile osd\n\tcaps: [osd] allow *\n"
        "client.admin\n\tkey: AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n"
        "\tcaps: [mon] allow *\n\tcaps: [osd] allow *\n"
    )
    dump = json.loads(format_ls(db, "json"))
    assert dump == {
        "auth_dump": [
            {
                "entity": "osd.0",
                "key": str(OTHER),
                "caps": {"mon": "allow profile osd", "osd": "allow *"},
            },
            {
                "entity": "client.admin",
                "key": str(KEY),
                "caps": {"mon": "allow *", "osd": "allow *"},
            },
        ]
    }
    assert format_ls(db, "json-pretty").startswith('{\n    "auth_dump": [\n')
    with pytest.raises(InvalidArgument):
        format_ls(db, "xml")


def test_get_outputs() -> None:
    db = make_db()
    entry = [(ADMIN, db.get(ADMIN))]
    assert format_keyring(entry) == (
        "[client.admin]\n\tkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n"
        '\tcaps mon = "allow *"\n\tcaps osd = "allow *"\n'
    )
    assert json.loads(format_keyring(entry, "json")) == [
        {"entity": "client.admin", "key": str(KEY), "caps": {"mon": "allow *", "osd": "allow *"}}
    ]
    assert format_key(db.get(ADMIN)) == f"{KEY}\n"
