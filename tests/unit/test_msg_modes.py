"""Connection modes (radospy.msg.modes): option parsing, which list applies, the pick."""

from __future__ import annotations

from errno import EINVAL

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.msg.config import MessengerConfig
from radospy.msg.modes import CRC, MODES, SECURE, is_daemon, modes_for, parse_modes, pick_mode


def test_parse_modes() -> None:
    assert parse_modes("ms_client_mode", "crc secure") == (CRC, SECURE)
    assert parse_modes("ms_client_mode", " secure,crc ") == (SECURE, CRC)
    assert parse_modes("ms_client_mode", "secure secure") == (SECURE,)
    for bad in ("", "  ", "fast", "crc fast", "CRC"):
        with pytest.raises(RadosError) as info:
            parse_modes("ms_cluster_mode", bad)
        assert info.value.errno == EINVAL
        assert f"invalid ms_cluster_mode '{bad}'" in str(info.value)


def test_which_list_applies() -> None:
    cluster, service, client = (SECURE,), (CRC,), (SECURE, CRC)
    assert modes_for("osd.1", "osd.2", cluster, service, client) == cluster
    assert modes_for("osd.1", "mon.*", cluster, service, client) == cluster
    assert modes_for("mon.a", "client.admin", cluster, service, client) == service
    assert modes_for("client.admin", "osd.0", cluster, service, client) == client
    assert modes_for("client.rgw.x", "mon.a", cluster, service, client) == client
    assert is_daemon("mgr.x") and is_daemon("mds.a") and not is_daemon("client.osd")


@given(
    st.lists(st.sampled_from(MODES), unique=True),
    st.lists(st.sampled_from(MODES), unique=True, min_size=1),
)
def test_pick_is_the_first_offered_that_is_allowed(offered: list[str], allowed: list[str]) -> None:
    picked = pick_mode(offered, tuple(allowed))
    common = [m for m in offered if m in allowed]
    assert picked == (common[0] if common else None)


def test_options_reach_the_messenger_config() -> None:
    config = Config("client.admin")
    assert MessengerConfig().with_modes(config).ms_client_mode == (CRC, SECURE)
    config.set("ms_cluster_mode", "secure")
    config.set("ms_client_mode", "secure crc")
    got = MessengerConfig(ms_max_backoff=1.0).with_modes(config)
    assert (got.ms_cluster_mode, got.ms_service_mode, got.ms_client_mode) == (
        (SECURE,),
        (CRC, SECURE),
        (SECURE, CRC),
    )
    assert got.ms_max_backoff == 1.0
    config.set("ms_service_mode", "plain")
    with pytest.raises(RadosError, match="invalid ms_service_mode 'plain'"):
        MessengerConfig().with_modes(config)
