"""Real S3 command-line clients against real `radospy rgw` processes on a real cluster:
the AWS CLI (`aws s3`, `aws s3api`, with its default checksums and multipart above
8 MiB), s3cmd (SigV4 and `--signature-v2`), rclone (provider Ceph), restic (a backup
repository) and s3fs-fuse (a mounted bucket under POSIX tools). Each client is what
`.ci/run` installs; a test skips, saying why, only when its client is missing here.
Every result is checked against what was written, through boto3 or the filesystem.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.e2e.s3_cluster import S3Cluster
from tests.integration.cluster import wait_for

ACCESS, SECRET = "AKIARADOSPYCLIENTS01", "radospy-clients-secret-000000000000000001"
MIB = 1 << 20
TIMEOUT = 300


@pytest.fixture(scope="module")
def cluster(shared_s3: tuple[S3Cluster, str]) -> S3Cluster:
    """The shared e2e cluster, with this module's users."""
    c = shared_s3[0]
    c.create_user("clients", ACCESS, SECRET)
    return c


@pytest.fixture(scope="module")
def url(shared_s3: tuple[S3Cluster, str], cluster: S3Cluster) -> str:
    return shared_s3[1]


@pytest.fixture(scope="module")
def s3(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _tool(name: str) -> str:
    """The path of client `name`, or skip the test saying it is not installed."""
    path = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent),
                                                     os.environ.get("PATH", "")]))
    if path is None:
        pytest.skip(f"{name} is not installed here (.ci/run installs it)")
    return path


def _run(argv: list[str], env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a client to completion; fail the test with its output if it failed. The
    caller's AWS_* variables (a CA bundle, a profile) are not passed on: every client
    talks plain HTTP to this cluster's gateway with the keys it is given."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    res = subprocess.run(argv, env={**inherited, **(env or {})}, cwd=cwd, text=True,
                         capture_output=True, timeout=TIMEOUT, check=False)
    assert res.returncode == 0, f"{argv[:3]} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write `files` (relative path → content) under `root`."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _same_tree(a: Path, b: Path) -> None:
    """Both directory trees hold the same files with the same bytes."""
    def listing(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    assert listing(a) == listing(b)
    for rel in listing(a):
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def _keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    """Every key under `prefix` with its size, as boto3 lists them."""
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return out


def _sample_files() -> dict[str, bytes]:
    return {
        "a.txt": b"alpha\n",
        "empty": b"",
        "dir/b.bin": os.urandom(70_000),
        "dir/sub/c.bin": os.urandom(1_000_001),
        "dir/sub/space name.txt": b"spaces and + plus\n",
        "ünï/cödé.txt": "ütf-8 cöntent\n".encode(),
    }


# -- AWS CLI ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("aws")
    config = home / "config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
    return {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}


def _aws(url: str, env: dict[str, str], *args: str) -> str:
    return _run([_tool("aws"), "--endpoint-url", url, *args], env).stdout


def test_aws_cli_s3(url: str, aws_env: dict[str, str], s3: Any, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", _sample_files())
    big = os.urandom(9 * MIB + 4321)
    (src / "big.bin").write_bytes(big)
    _aws(url, aws_env, "s3", "mb", "s3://awscli")
    assert "awscli" in _aws(url, aws_env, "s3", "ls")
    _aws(url, aws_env, "s3", "cp", str(src / "big.bin"), "s3://awscli/one/big.bin")
    head = s3.head_object(Bucket="awscli", Key="one/big.bin")
    assert head["ContentLength"] == len(big) and head["ETag"].endswith('-2"')
    _aws(url, aws_env, "s3", "cp", "s3://awscli/one/big.bin", str(tmp_path / "big.back"))
    assert (tmp_path / "big.back").read_bytes() == big
    # Server-side: a copy above the multipart threshold is UploadPartCopy; mv = copy+delete.
    _aws(url, aws_env, "s3", "cp", "s3://awscli/one/big.bin", "s3://awscli/two/big.copy")
    _aws(url, aws_env, "s3", "mv", "s3://awscli/two/big.copy", "s3://awscli/two/big.moved")
    assert set(_keys(s3, "awscli")) == {"one/big.bin", "two/big.moved"}
    assert s3.get_object(Bucket="awscli", Key="two/big.moved")["Body"].read() == big
    presigned = _aws(url, aws_env, "s3", "presign", "s3://awscli/one/big.bin").strip()
    with urllib.request.urlopen(presigned, timeout=120) as response:
        assert response.read() == big

    _aws(url, aws_env, "s3", "sync", str(src), "s3://awscli/tree")
    assert _keys(s3, "awscli", "tree/") == {
        "tree/" + str(p.relative_to(src)): p.stat().st_size for p in src.rglob("*")
        if p.is_file()}
    listed = _aws(url, aws_env, "s3", "ls", "--recursive", "s3://awscli/tree/")
    assert "tree/ünï/cödé.txt" in listed and "tree/dir/sub/space name.txt" in listed
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "empty").unlink()
    _aws(url, aws_env, "s3", "sync", "--delete", str(src), "s3://awscli/tree")
    assert s3.get_object(Bucket="awscli", Key="tree/a.txt")["Body"].read() == b"alpha, changed\n"
    assert "tree/empty" not in _keys(s3, "awscli", "tree/")
    _aws(url, aws_env, "s3", "sync", "s3://awscli/tree", str(tmp_path / "back"))
    _same_tree(src, tmp_path / "back")

    _aws(url, aws_env, "s3", "rm", "s3://awscli/tree/a.txt")
    assert "tree/a.txt" not in _keys(s3, "awscli", "tree/")
    _aws(url, aws_env, "s3", "rm", "--recursive", "s3://awscli/")
    assert _keys(s3, "awscli") == {}
    _aws(url, aws_env, "s3", "rb", "s3://awscli")
    assert "awscli" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def _api(url: str, env: dict[str, str], *args: str) -> Any:
    """`aws s3api ARGS`: its JSON answer (None when it prints nothing)."""
    out = _aws(url, env, "s3api", *args)
    return json.loads(out) if out.strip() else None


def test_aws_cli_s3api(url: str, aws_env: dict[str, str], s3: Any, tmp_path: Path) -> None:
    def api(*args: str) -> Any:
        return _api(url, aws_env, *args)

    api("create-bucket", "--bucket", "awsapi")
    body = tmp_path / "body"
    body.write_bytes(b"s3api body\n" * 100)
    put = api("put-object", "--bucket", "awsapi", "--key", "k/one", "--body", str(body),
              "--content-type", "text/plain", "--metadata", "color=green",
              "--checksum-algorithm", "SHA256")
    assert put["ETag"] == f"\"{hashlib.md5(body.read_bytes()).hexdigest()}\""
    head = api("head-object", "--bucket", "awsapi", "--key", "k/one")
    assert head["ContentLength"] == 1100 and head["Metadata"] == {"color": "green"}
    assert head["ContentType"] == "text/plain"
    got = api("get-object", "--bucket", "awsapi", "--key", "k/one", "--range", "bytes=0-9",
              str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"s3api body" and got["ContentLength"] == 10
    api("copy-object", "--bucket", "awsapi", "--key", "k/two",
        "--copy-source", "awsapi/k/one")
    listed = api("list-objects-v2", "--bucket", "awsapi", "--prefix", "k/")
    assert [o["Key"] for o in listed["Contents"]] == ["k/one", "k/two"]
    listed = api("list-objects", "--bucket", "awsapi", "--delimiter", "/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["k/"]
    api("delete-objects", "--bucket", "awsapi", "--delete",
        json.dumps({"Objects": [{"Key": k} for k in ("k/one", "k/two")]}))
    assert _keys(s3, "awsapi") == {}
    api("delete-bucket", "--bucket", "awsapi")


@pytest.mark.soak
def test_aws_cli_s3api_multipart_and_tags(url: str, aws_env: dict[str, str], s3: Any,
                                          tmp_path: Path) -> None:
    def api(*args: str) -> Any:
        return _api(url, aws_env, *args)

    api("create-bucket", "--bucket", "awsmp")
    upload = api("create-multipart-upload", "--bucket", "awsmp", "--key", "mp")["UploadId"]
    part = tmp_path / "part"
    part.write_bytes(os.urandom(5 * MIB))
    etags = [api("upload-part", "--bucket", "awsmp", "--key", "mp", "--upload-id", upload,
                 "--part-number", str(n), "--body", str(part))["ETag"] for n in (1, 2)]
    uploads = api("list-multipart-uploads", "--bucket", "awsmp")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp", upload)]
    parts = api("list-parts", "--bucket", "awsmp", "--key", "mp", "--upload-id", upload)
    assert [p["ETag"] for p in parts["Parts"]] == etags
    layout = json.dumps({"Parts": [{"ETag": e, "PartNumber": n + 1} for n, e in
                                   enumerate(etags)]})
    api("complete-multipart-upload", "--bucket", "awsmp", "--key", "mp",
        "--upload-id", upload, "--multipart-upload", layout)
    assert s3.get_object(Bucket="awsmp", Key="mp")["Body"].read() == part.read_bytes() * 2
    api("put-object-tagging", "--bucket", "awsmp", "--key", "mp",
        "--tagging", "TagSet=[{Key=t,Value=v}]")
    assert api("get-object-tagging", "--bucket", "awsmp",
               "--key", "mp")["TagSet"] == [{"Key": "t", "Value": "v"}]
    api("delete-object", "--bucket", "awsmp", "--key", "mp")
    api("delete-bucket", "--bucket", "awsmp")


@pytest.fixture(scope="module")
def https(cluster: S3Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A second gateway serving HTTPS with a self-signed certificate: its URL and the
    certificate (the CA bundle clients must trust)."""
    tls = tmp_path_factory.mktemp("tls")
    cert, key = tls / "cert.pem", tls / "key.pem"
    _run([_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
          "-keyout", str(key), "-out", str(cert)])
    url = cluster.start_gateway("--ssl-certificate", str(cert), "--ssl-private-key", str(key))
    return url, cert


def test_aws_cli_https_trailing_checksums(https: tuple[str, Path], aws_env: dict[str, str],
                                          s3: Any, tmp_path: Path) -> None:
    """Over HTTPS the AWS CLI and boto3 send bodies as aws-chunked with the checksum in a
    trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), which Ceph 16's radosgw refuses."""
    url, cert = https
    env = {**aws_env, "AWS_CA_BUNDLE": str(cert)}
    s3.create_bucket(Bucket="trailers")
    small = tmp_path / "small"
    small.write_bytes(b"trailing checksum\n" * 1000)
    big = tmp_path / "big"
    big.write_bytes(os.urandom(9 * MIB + 1))
    sent = _run([_tool("aws"), "--endpoint-url", url, "--debug", "s3", "cp", str(small),
                 "s3://trailers/small"], env).stderr
    assert "STREAMING-UNSIGNED-PAYLOAD-TRAILER" in sent
    _aws(url, env, "s3", "cp", str(big), "s3://trailers/big")
    _api(url, env, "put-object", "--bucket", "trailers", "--key", "sha1", "--body",
         str(small), "--checksum-algorithm", "SHA1")
    assert s3.get_object(Bucket="trailers", Key="small")["Body"].read() == small.read_bytes()
    assert s3.get_object(Bucket="trailers", Key="big")["Body"].read() == big.read_bytes()
    head = _api(url, env, "head-object", "--bucket", "trailers", "--key", "sha1",
                "--checksum-mode", "ENABLED")
    assert head["ContentLength"] == small.stat().st_size and head.get("ChecksumSHA1")

    tls_s3 = boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
        region_name="us-east-1", verify=str(cert),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    headers: list[dict[str, str]] = []
    tls_s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: headers.append(dict(request.headers)))
    tls_s3.put_object(Bucket="trailers", Key="boto3", Body=b"boto3 over TLS" * 100)
    assert headers[0].get("x-amz-trailer") or headers[0].get("X-Amz-Trailer")
    got = tls_s3.get_object(Bucket="trailers", Key="boto3", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"boto3 over TLS" * 100
    listed = _keys(s3, "trailers")
    s3.delete_objects(Bucket="trailers", Delete={"Objects": [{"Key": k} for k in listed]})
    s3.delete_bucket(Bucket="trailers")


# -- s3cmd ------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["v4", "v2"])
def test_s3cmd(url: str, s3: Any, tmp_path: Path, signature: str) -> None:
    host = url.removeprefix("http://")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        f"[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = {host}\n"
        f"host_bucket = {host}\nuse_https = False\nbucket_location = us-east-1\n"
        f"signature_v2 = {signature == 'v2'}\n")
    bucket = f"s3cmd-{signature}"

    def s3cmd(*args: str) -> str:
        return _run([_tool("s3cmd"), "-c", str(cfg), "--no-progress", *args]).stdout

    src = _tree(tmp_path / "src", _sample_files())
    s3cmd("mb", f"s3://{bucket}")
    s3cmd("put", str(src / "a.txt"), f"s3://{bucket}/single/a.txt")
    assert f"s3://{bucket}/single/a.txt" in s3cmd("ls", f"s3://{bucket}/single/")
    s3cmd("get", f"s3://{bucket}/single/a.txt", str(tmp_path / "a.back"))
    assert (tmp_path / "a.back").read_bytes() == b"alpha\n"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MIB + 17))
    s3cmd("put", "--multipart-chunk-size-mb=5", str(big), f"s3://{bucket}/big.bin")
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big.read_bytes()

    s3cmd("sync", str(src) + "/", f"s3://{bucket}/tree/")
    assert _keys(s3, bucket, "tree/") == {
        "tree/" + str(p.relative_to(src)): p.stat().st_size for p in src.rglob("*")
        if p.is_file()}
    s3cmd("sync", f"s3://{bucket}/tree/", str(tmp_path / "back") + "/")
    _same_tree(src, tmp_path / "back")
    s3cmd("cp", f"s3://{bucket}/single/a.txt", f"s3://{bucket}/single/copy.txt")
    s3cmd("mv", f"s3://{bucket}/single/copy.txt", f"s3://{bucket}/single/moved.txt")
    assert s3.get_object(Bucket=bucket, Key="single/moved.txt")["Body"].read() == b"alpha\n"
    info = s3cmd("info", f"s3://{bucket}/single/moved.txt")
    assert hashlib.md5(b"alpha\n").hexdigest() in info
    assert str(big.stat().st_size) in s3cmd("du", f"s3://{bucket}/big.bin")
    s3cmd("setacl", "--acl-public", f"s3://{bucket}/single/moved.txt")
    assert "*anon*: READ" in s3cmd("info", f"s3://{bucket}/single/moved.txt")
    with urllib.request.urlopen(f"{url}/{bucket}/single/moved.txt", timeout=60) as anonymous:
        assert anonymous.read() == b"alpha\n"
    s3cmd("del", f"s3://{bucket}/single/a.txt", f"s3://{bucket}/single/moved.txt")
    assert not any(k.startswith("single/") for k in _keys(s3, bucket))
    s3cmd("del", "--recursive", "--force", f"s3://{bucket}")
    assert _keys(s3, bucket) == {}
    s3cmd("rb", f"s3://{bucket}")


# -- rclone -----------------------------------------------------------------------------


def test_rclone(url: str, s3: Any, tmp_path: Path) -> None:
    env = {"RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_RADOS_TYPE": "s3", "RCLONE_CONFIG_RADOS_PROVIDER": "Ceph",
           "RCLONE_CONFIG_RADOS_ACCESS_KEY_ID": ACCESS,
           "RCLONE_CONFIG_RADOS_SECRET_ACCESS_KEY": SECRET,
           "RCLONE_CONFIG_RADOS_ENDPOINT": url, "RCLONE_CONFIG_RADOS_REGION": "us-east-1"}

    def rclone(*args: str) -> str:
        return _run([_tool("rclone"), "--retries", "1", "--low-level-retries", "1",
                     "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", *args], env).stdout

    src = _tree(tmp_path / "src", _sample_files())
    (src / "big.bin").write_bytes(os.urandom(11 * MIB))
    rclone("mkdir", "rados:rclone")
    rclone("copy", str(src), "rados:rclone/tree")
    assert _keys(s3, "rclone", "tree/") == {
        "tree/" + str(p.relative_to(src)): p.stat().st_size for p in src.rglob("*")
        if p.is_file()}
    rclone("check", str(src), "rados:rclone/tree")
    listed = rclone("lsf", "-R", "rados:rclone/tree").split("\n")
    assert "dir/sub/space name.txt" in listed and "ünï/cödé.txt" in listed
    (src / "a.txt").unlink()
    (src / "new.txt").write_bytes(b"new\n")
    rclone("sync", str(src), "rados:rclone/tree")
    rclone("check", str(src), "rados:rclone/tree")
    assert "tree/a.txt" not in _keys(s3, "rclone") and "tree/new.txt" in _keys(s3, "rclone")
    rclone("copy", "rados:rclone/tree", str(tmp_path / "back"))
    _same_tree(src, tmp_path / "back")
    rclone("copyto", "rados:rclone/tree/big.bin", "rados:rclone/copied/big.bin")
    rclone("moveto", "rados:rclone/copied/big.bin", "rados:rclone/moved/big.bin")
    assert rclone("cat", "rados:rclone/tree/new.txt") == "new\n"
    sums = dict(line.split("  ", 1)[::-1] for line in
                rclone("md5sum", "rados:rclone/moved").splitlines())
    assert sums["big.bin"] == hashlib.md5((src / "big.bin").read_bytes()).hexdigest()
    files = {f["Path"]: f["Size"] for f in json.loads(rclone("lsjson", "-R", "rados:rclone"))
             if not f["IsDir"]}
    assert files["moved/big.bin"] == (src / "big.bin").stat().st_size
    assert "copied/big.bin" not in files
    rclone("purge", "rados:rclone")
    assert "rclone" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# -- restic -----------------------------------------------------------------------------


def test_restic(url: str, s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="restic")
    env = {"RESTIC_REPOSITORY": f"s3:{url}/restic/repo", "RESTIC_PASSWORD": "radospy",
           "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET,
           "RESTIC_CACHE_DIR": str(tmp_path / "cache")}

    def restic(*args: str) -> str:
        return _run([_tool("restic"), "--no-lock", *args], env).stdout

    src = _tree(tmp_path / "src", {**_sample_files(), "dir/big.bin": os.urandom(3 * MIB)})
    restic("init")
    restic("backup", "--host", "radospy", str(src))
    (src / "a.txt").write_bytes(b"second snapshot\n")
    restic("backup", "--host", "radospy", str(src))
    restic("check", "--read-data")
    snapshots = json.loads(restic("snapshots", "--json"))
    assert len(snapshots) == 2
    restic("restore", "latest", "--target", str(tmp_path / "restored"))
    _same_tree(src, tmp_path / "restored" / src.relative_to(src.anchor))
    assert any(k.startswith("repo/data/") for k in _keys(s3, "restic", "repo/"))


# -- s3fs-fuse --------------------------------------------------------------------------


@pytest.fixture
def mounted(url: str, s3: Any, tmp_path: Path) -> Iterator[Path]:
    """The bucket `s3fs` mounted by an `s3fs -f` process this test owns."""
    s3fs = _tool("s3fs")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse here")
    s3.create_bucket(Bucket="s3fs")
    passwd = tmp_path / "passwd"
    passwd.write_text(f"{ACCESS}:{SECRET}\n")
    passwd.chmod(0o600)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    log = open(tmp_path / "s3fs.log", "wb")  # noqa: SIM115 (owned by the child)
    proc = subprocess.Popen(
        [s3fs, "s3fs", str(mnt), "-f", "-o", f"url={url}", "-o", "use_path_request_style",
         "-o", f"passwd_file={passwd}", "-o", "endpoint=us-east-1", "-o", "sigv4",
         "-o", "stat_cache_expire=1", "-o", "retries=1", "-o", "dbglevel=warn",
         "-o", "multipart_size=5"],
        stdout=log, stderr=log)
    log.close()

    def is_mounted() -> bool:
        if proc.poll() is not None:
            pytest.skip(f"s3fs could not mount here: {(tmp_path / 's3fs.log').read_text()}")
        return os.path.ismount(mnt)

    try:
        wait_for(is_mounted, 60, "s3fs mount")
        yield mnt
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount", "-u", str(mnt)], check=False, timeout=60)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_s3fs_posix(mounted: Path, s3: Any, tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 5)
    (tmp_path / "local.bin").write_bytes(data)
    _run(["cp", str(tmp_path / "local.bin"), str(mounted / "copied.bin")])
    assert s3.get_object(Bucket="s3fs", Key="copied.bin")["Body"].read() == data
    _run(["mkdir", "-p", str(mounted / "d1" / "d2")])
    (mounted / "d1" / "d2" / "note.txt").write_text("written through FUSE\n")
    assert _run(["cat", str(mounted / "d1" / "d2" / "note.txt")]).stdout == (
        "written through FUSE\n")
    assert sorted(_run(["ls", str(mounted)]).stdout.split()) == ["copied.bin", "d1"]
    s3.put_object(Bucket="s3fs", Key="from-s3.txt", Body=b"put by boto3\n")
    assert (mounted / "from-s3.txt").read_bytes() == b"put by boto3\n"
    _run(["mv", str(mounted / "copied.bin"), str(mounted / "d1" / "moved.bin")])
    assert (mounted / "d1" / "moved.bin").read_bytes() == data
    keys = _keys(s3, "s3fs")
    assert "copied.bin" not in keys and keys["d1/moved.bin"] == len(data)
    # chmod is a CopyObject onto itself with REPLACE; an append to a file past the
    # multipart size re-uploads it in parts; a directory rename copies every object.
    note = mounted / "d1" / "d2" / "note.txt"
    _run(["chmod", "600", str(note)])
    assert note.stat().st_mode & 0o777 == 0o600
    with open(note, "a") as f:
        f.write("appended\n")
    assert note.read_text() == "written through FUSE\nappended\n"
    big = os.urandom(11 * MIB)
    (tmp_path / "big.bin").write_bytes(big)
    _run(["cp", str(tmp_path / "big.bin"), str(mounted / "d1" / "big.bin")])
    with open(mounted / "d1" / "big.bin", "ab") as f:
        f.write(b"tail")
    _run(["mv", str(mounted / "d1"), str(mounted / "renamed")])
    assert (mounted / "renamed" / "big.bin").read_bytes() == big + b"tail"
    assert (mounted / "renamed" / "d2" / "note.txt").read_text().endswith("appended\n")
    _run(["truncate", "-s", "5", str(mounted / "renamed" / "moved.bin")])
    assert s3.get_object(Bucket="s3fs", Key="renamed/moved.bin")["Body"].read() == data[:5]
    assert not any(k.startswith("d1/") for k in _keys(s3, "s3fs"))
    _run(["rm", str(mounted / "from-s3.txt")])
    _run(["rm", "-r", str(mounted / "renamed")])
    assert _run(["ls", "-A", str(mounted)]).stdout == ""
    assert _keys(s3, "s3fs") == {}
