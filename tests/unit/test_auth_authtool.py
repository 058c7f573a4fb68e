"""`radospy ceph-authtool`: Ceph's messages, streams and exit codes (checked side by side
with Ceph 16.2.15's ceph-authtool while writing it)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from radospy.auth.keyring import EntityName, Keyring
from radospy.cli.authtool import USAGE, main

KEY = "AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q=="
SEED = f'[client.x]\n\tkey = {KEY}\n\tcaps mon = "allow r"\n'


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_gen_key_with_caps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "k")
    code, out, err = run(
        capsys,
        path,
        "--create-keyring",
        "--gen-key",
        "-n",
        "client.admin",
        "--cap",
        "mon",
        "allow *",
        "--cap",
        "osd",
        "allow *",
    )
    assert (code, out, err) == (0, f"creating {path}\n", "")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keyring = Keyring.parse(Path(path).read_text())
    auth = keyring.get(EntityName.parse("client.admin"))
    assert auth is not None and auth.key.usable
    assert auth.caps == {"mon": "allow *", "osd": "allow *"}
    code, out, _ = run(capsys, path, "--print-key")
    assert (code, out) == (0, f"{auth.key}\n")
    code, out, _ = run(capsys, path, "--list")
    assert out == Path(path).read_text()


def test_add_key_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed, path = tmp_path / "seed", str(tmp_path / "k")
    seed.write_text(SEED)
    code, out, _ = run(capsys, path, "-C", "--import-keyring", str(seed))
    assert (code, out) == (0, f"creating {path}\nimporting contents of {seed} into {path}\n")
    code, out, _ = run(capsys, path, "-n", "client.q", "-a", KEY, "--cap", "osd", "allow *")
    assert out == f"added entity client.q auth(key={KEY})\nadded 1 caps to entity client.q\n"
    assert Path(path).read_text() == f'[client.q]\n\tkey = {KEY}\n\tcaps osd = "allow *"\n' + SEED


@pytest.mark.parametrize(
    ("args", "err"),
    [
        ((), "ceph-authtool: -h or --help for usage\n"),
        (("{seed}", "-n", "client.q", "-a", "garbage"), "can't decode key 'garbage'\n"),
        (("{seed}", "-p"), "entity client.admin not found\n"),
        (
            ("{dir}/nope", "-l"),
            "can't open {dir}/nope: can't open {dir}/nope: (2) No such file or directory\n",
        ),
        (
            ("{seed}", "-n", "client.zz", "--cap", "mon", "allow r"),
            "can't find existing key for client.zz and neither gen-key nor add-key specified\n",
        ),
        (
            ("{seed}", "-n", "bogus", "-g"),
            "error parsing 'bogus': expected string of the form TYPE.ID, valid types are: "
            "auth, mon, osd, mds, mgr, client\n",
        ),
        (("{seed}", "--cap", "mon"), "must give two arguments to --cap: key and val.\n"),
        (("{bad}", "-l"), "error reading file {bad}\n"),
    ],
)
def test_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], err: str
) -> None:
    (tmp_path / "seed").write_text(SEED)
    (tmp_path / "bad").write_text("[bad]\nkey = x\n")
    fill = {"seed": str(tmp_path / "seed"), "dir": str(tmp_path), "bad": str(tmp_path / "bad")}
    code, out, got = run(capsys, *(a.format(**fill) for a in args))
    assert (code, out, got) == (1, "", err.format(**fill))


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (("-l",), "ceph-authtool: must specify filename\n"),
        (("k",), "no command specified\n"),
        (("k", "-g", "-a", KEY), "can't both gen-key and add-key\n"),
        (
            ("k", "-C", "--cap", "mon", "x"),
            "must specify either gen-key or add-key when creating\n",
        ),
        (("k", "extra", "-l"), "ceph-authtool: unexpected 'extra'\n"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], err: str) -> None:
    assert run(capsys, *args) == (1, USAGE + "\n", err)


def test_help_exits_1_with_usage_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--help") == (1, USAGE + "\n", "")


def test_gen_print_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--gen-print-key")
    assert code == 0 and len(out.strip()) == 40 and out.startswith("AQ")
