"""`radospy monmaptool`, in process: Ceph 16.2.15's messages and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radospy.cli.monmaptool import main
from radospy.mon.monmap import MonMap

FSID = "5ae6b1a7-96cd-4f4b-9a11-5b1f0e6b2d3c"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _create(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(
        capsys, "mm", "--create", "--fsid", FSID, "--add", "a", "127.0.0.1:3300",
        "--add", "b", "127.0.0.1:3301",
    )  # fmt: skip
    assert code == 0


def test_create_with_fsid_add_and_print(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "mm", "--create", "--fsid", FSID, "--add", "b", "127.0.0.1:3301",
        "--add", "a", "127.0.0.1", "--print",
    )  # fmt: skip
    assert (code, err) == (0, "")
    text = re.sub(r"(last_changed|created) \S+", r"\1 T", out)
    assert text == (
        "monmaptool: monmap file mm\n"
        f"monmaptool: set fsid to {FSID}\n"
        "epoch 0\n"
        f"fsid {FSID}\n"
        "last_changed T\n"
        "created T\n"
        "min_mon_release 0 (unknown)\n"
        "election_strategy: 1\n"
        "0: v2:127.0.0.1:3300/0 mon.a\n"
        "1: v2:127.0.0.1:3301/0 mon.b\n"
        "monmaptool: writing epoch 0 to mm (2 monitors)\n"
    )
    monmap = MonMap.decode(Path("mm").read_bytes())
    assert monmap.fsid == FSID and monmap.ranks == ["a", "b"]


def test_create_generates_an_fsid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "mm", "--create")
    assert code == 0
    match = re.search(r"^monmaptool: generated fsid (\S+)$", out, re.M)
    assert match is not None
    assert MonMap.decode(Path("mm").read_bytes()).fsid == match.group(1)
    assert out.endswith("monmaptool: writing epoch 0 to mm (0 monitors)\n")


def test_print_existing_map(capsys: pytest.CaptureFixture[str]) -> None:
    _create(capsys)
    before = Path("mm").read_bytes()
    code, out, err = _run(capsys, "--print", "mm")
    assert (code, err) == (0, "")
    assert out.startswith("monmaptool: monmap file mm\nepoch 0\n")
    assert "writing" not in out
    assert Path("mm").read_bytes() == before


def test_rm_and_clobber(capsys: pytest.CaptureFixture[str]) -> None:
    _create(capsys)
    code, out, _ = _run(capsys, "mm", "--rm", "a")
    assert code == 0
    assert "monmaptool: removing a\n" in out
    assert MonMap.decode(Path("mm").read_bytes()).ranks == ["b"]
    code, _, _ = _run(capsys, "mm", "--create", "--clobber")
    assert code == 0
    assert MonMap.decode(Path("mm").read_bytes()).mons == {}


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--help")
    assert (code, err) == (0, "")
    assert out.startswith("usage: monmaptool")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ([], 1, "monmaptool: -h or --help for usage"),
        (["--create"], 1, "monmaptool: must specify monmap filename"),
        (["mm", "other"], 1, "monmaptool: too many arguments"),
        (["mm", "--bogus"], 1, "monmaptool: unrecognized option '--bogus'"),
        (["mm", "--create", "--fsid", "nope"], 1, "monmaptool: invalid fsid 'nope'"),
        (["mm", "--create", "--fsid"], 1, "monmaptool: Option --fsid requires an argument."),
        (["mm", "--create", "--add", "a"], 1, "monmaptool: --add requires a name and an ip:port"),
        (["mm", "--create", "--add", "a", "nope"], 255, "monmaptool: invalid ip:port 'nope'"),
        (["mm", "--create", "--add", "a", "1.2.3.4:99999"], 255, "monmaptool: invalid ip:port"),
        (
            ["mm", "--create", "--add", "a b", "1.2.3.4"],
            1,
            "monmaptool: invalid monitor name 'a b'",
        ),
        (["mm", "--print"], 255, "monmaptool: couldn't open mm: (2) No such file or directory"),
        (["mm", "--add", "c", "1.2.3.4"], 255, "monmaptool: couldn't open mm: (2)"),
    ],
)
def test_bad_arguments(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    result, _, err = _run(capsys, *argv)
    assert result == code
    assert err.count("\n") == 1 and err.startswith(message)
    assert not Path("mm").exists()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["mm", "--create"], 255, "monmaptool: mm exists, --clobber to overwrite"),
        (["mm", "--add", "a", "127.0.0.1:4000"], 1, "monmaptool: map already contains mon.a"),
        (
            ["mm", "--add", "c", "127.0.0.1:3300"],
            1,
            "monmaptool: map already contains v2:127.0.0.1:3300/0",
        ),
        (["mm", "--rm", "z"], 1, "monmaptool: map does not contain z"),
        (
            ["mm", "--add", "c", "127.0.0.1:4000", "--rm", "z"],
            1,
            "monmaptool: map does not contain z",
        ),
        (["mm"], 1, "no action specified"),
    ],
)
def test_bad_edits_change_nothing(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    _create(capsys)
    before = Path("mm").read_bytes()
    result, _, err = _run(capsys, *argv)
    assert result == code
    assert err == message + "\n"
    assert Path("mm").read_bytes() == before
    assert sorted(p.name for p in Path().iterdir()) == ["mm"]


def test_unreadable_map(capsys: pytest.CaptureFixture[str]) -> None:
    Path("junk").write_text("hello")
    code, out, err = _run(capsys, "junk", "--print")
    assert (code, err) == (255, "monmaptool: unable to read monmap file\n")
    assert out == "monmaptool: monmap file junk\n"
    code, _, err = _run(capsys, "junk", "--create")
    assert (code, err) == (255, "monmaptool: unable to read monmap file\n")
    Path("dir").mkdir()
    code, _, err = _run(capsys, "dir", "--print")
    assert (code, err) == (255, "monmaptool: couldn't open dir: (21) Is a directory\n")


def test_write_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "missing/mm", "--create", "--clobber")
    assert code == 1
    assert err == "monmaptool: error writing to 'missing/mm': (2) No such file or directory\n"


def test_through_the_radospy_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    from radospy.cli import main as entry

    if "monmaptool" not in entry.TOOLS:
        pytest.skip("monmaptool is not registered in radospy.cli.main yet")
    assert entry.main(["monmaptool", "mm", "--create", "--fsid", FSID]) == 0
    assert MonMap.decode(Path("mm").read_bytes()).fsid == FSID
