"""`AdapterHealth` is the one place an adapter's state is set: each method, what it records."""

from __future__ import annotations

from hub.errors import ChannelAuthError, ChannelConnectError
from hub.model import AdapterHealth, AdapterState


def test_life_of_an_adapter_through_the_health_methods() -> None:
    health = AdapterHealth(name="ami:office")
    assert health.state is AdapterState.STARTING
    health.running()
    assert health.state is AdapterState.RUNNING and health.last_error is None
    health.backoff(ChannelConnectError("cannot connect", channel="ami:office"))
    health.backoff(ChannelConnectError("cannot connect", channel="ami:office"))
    assert health.state is AdapterState.BACKOFF and health.restarts == 2
    assert health.last_error == "ChannelConnectError: cannot connect (channel=ami:office)"
    assert health.last_error_at is not None
    health.running()
    assert health.state is AdapterState.RUNNING
    assert health.last_error is not None  # the last error stays visible once running again
    health.stopped()
    assert health.state is AdapterState.STOPPED
    health.starting()
    assert health.state is AdapterState.STARTING


def test_failed_is_final_and_counts_no_restart() -> None:
    health = AdapterHealth(name="imap:sales")
    health.failed(ChannelAuthError("login refused"))
    assert health.state is AdapterState.FAILED and health.restarts == 0
    doc = health.as_dict()
    assert doc["state"] == "failed" and doc["last_error"] == "ChannelAuthError: login refused"
