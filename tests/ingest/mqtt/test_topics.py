"""The topic scheme and the device ACL: pure functions, good and bad input."""

from __future__ import annotations

import pytest

from cetate.ingest.mqtt.topics import (
    ATTRS_FILTER,
    Channel,
    DeviceTopic,
    TopicError,
    device_username,
    format_topic,
    may_publish,
    may_subscribe,
    mosquitto_acl,
    parse_topic,
    parse_username,
)


def test_format_and_parse_round_trip() -> None:
    topic = format_topic("cluj", "bin-0042", Channel.attrs)
    assert topic == "cetate/cluj/bin-0042/attrs"
    assert parse_topic(topic) == DeviceTopic("cluj", "bin-0042", Channel.attrs)
    assert parse_topic("cetate/iasi/Lamp_7.a/cmdexe").channel is Channel.cmdexe
    assert format_topic("brasov", "panic-1", "cmd") == "cetate/brasov/panic-1/cmd"
    assert DeviceTopic("cluj", "bin-1", Channel.cmd).username == "cluj/bin-1"


@pytest.mark.parametrize(
    ("topic", "complaint"),
    [
        ("cetate/cluj/bin-1", "expected cetate/<tenant>/<device>/<channel>"),
        ("cetate/cluj/bin-1/attrs/extra", "expected cetate/<tenant>/<device>/<channel>"),
        ("other/cluj/bin-1/attrs", "expected cetate/<tenant>/<device>/<channel>"),
        ("cetate/Cluj/bin-1/attrs", "invalid tenant 'Cluj'"),
        ("cetate//bin-1/attrs", "invalid tenant ''"),
        ("cetate/+/bin-1/attrs", "invalid tenant '+'"),
        ("cetate/cluj/+/attrs", "invalid device id '+'"),
        ("cetate/cluj/#/attrs", "invalid device id '#'"),
        ("cetate/cluj/-bin/attrs", "invalid device id '-bin'"),
        ("cetate/cluj/bin 1/attrs", "invalid device id 'bin 1'"),
        ("cetate/cluj/bin%u/attrs", "invalid device id 'bin%u'"),
        ("cetate/cluj/" + "x" * 129 + "/attrs", "invalid device id"),
        ("cetate/cluj/bin-1/status", "invalid channel 'status'"),
        ("cetate/cluj/bin-1/", "invalid channel ''"),
    ],
)
def test_bad_topics_say_what_is_wrong(topic: str, complaint: str) -> None:
    with pytest.raises(TopicError) as info:
        parse_topic(topic)
    assert complaint in info.value.detail
    assert info.value.status == 400


def test_format_checks_every_part() -> None:
    with pytest.raises(TopicError, match="invalid tenant"):
        format_topic("a/b", "bin-1", Channel.attrs)
    with pytest.raises(TopicError, match="invalid device id"):
        format_topic("cluj", "a/b", Channel.attrs)
    with pytest.raises(TopicError, match="invalid channel 'attr'"):
        format_topic("cluj", "bin-1", "attr")


def test_usernames() -> None:
    assert parse_username("cluj/bin-1") == ("cluj", "bin-1")
    assert device_username("cluj", "bin-1") == "cluj/bin-1"
    for bad in ("cluj", "cluj/", "/bin-1", "cluj/bin/1", "cluj/bin+1", ""):
        with pytest.raises(TopicError):
            parse_username(bad)


def test_a_device_publishes_only_to_its_own_attrs_and_cmdexe() -> None:
    me = "cluj/bin-1"
    assert may_publish(me, "cetate/cluj/bin-1/attrs")
    assert may_publish(me, "cetate/cluj/bin-1/cmdexe")
    refused = [
        "cetate/cluj/bin-1/cmd",  # commands come from Cetate, not from the device
        "cetate/cluj/bin-2/attrs",  # another device
        "cetate/iasi/bin-1/attrs",  # same device id, another tenant
        "cetate/cluj/+/attrs",
        "cetate/cluj/bin-1/#",
        "cetate/cluj/bin-1",
        "$SYS/broker/uptime",
        "anything",
    ]
    for topic in refused:
        assert not may_publish(me, topic), topic


def test_a_device_subscribes_only_to_its_own_cmd() -> None:
    me = "cluj/bin-1"
    assert may_subscribe(me, "cetate/cluj/bin-1/cmd")
    for topic_filter in (
        "cetate/cluj/bin-1/attrs",
        "cetate/cluj/bin-2/cmd",
        "cetate/cluj/+/cmd",
        "cetate/cluj/bin-1/+",
        "cetate/#",
        "#",
        ATTRS_FILTER,
    ):
        assert not may_subscribe(me, topic_filter), topic_filter


def test_unidentified_or_malformed_users_may_do_nothing() -> None:
    for username in (None, "", "cluj", "cetate-service", "cluj/bin-1/x", "cluj/+"):
        assert not may_publish(username, "cetate/cluj/bin-1/attrs"), username
        assert not may_subscribe(username, "cetate/cluj/bin-1/cmd"), username


def test_mosquitto_acl_text() -> None:
    acl = mosquitto_acl("cetate-service")
    assert "user cetate-service\ntopic readwrite cetate/#\n" in acl
    assert "pattern write cetate/%u/attrs\n" in acl
    assert "pattern write cetate/%u/cmdexe\n" in acl
    assert "pattern read cetate/%u/cmd\n" in acl
    with pytest.raises(ValueError, match="invalid service username"):
        mosquitto_acl("cluj/bin-1")
