"""One cluster with one plain-HTTP gateway that the client and bad-input modules share,
each with users of its own, so the e2e run brings a cluster up once for both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.s3_cluster import S3Cluster


@pytest.fixture(scope="session")
def shared_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Cluster, str]]:
    """The shared cluster and its gateway's URL."""
    cluster = S3Cluster(tmp_path_factory.mktemp("s3shared"), num_osds=3)
    try:
        cluster.bring_up()
        url = cluster.start_gateway()
        yield cluster, url
    finally:
        cluster.close()
