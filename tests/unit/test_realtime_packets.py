"""Socket.IO 5 and Engine.IO 4 packets, as the official clients write and read them."""

from __future__ import annotations

import pytest

from parley.realtime import packets
from parley.realtime.packets import MalformedPacket, frame


def test_event_in_a_namespace_with_an_ack_id() -> None:
    assert packets.encode(packets.EVENT, "/chat", ["hello", {"a": 1}], 12) == [
        '2/chat,12["hello",{"a":1}]'
    ]


def test_main_namespace_is_left_out() -> None:
    assert packets.encode(packets.EVENT, "/", ["hi"]) == ['2["hi"]']


def test_text_is_sent_as_utf8_not_escaped() -> None:
    assert packets.encode(packets.ACK, "/chat", ["héllo ✓"], 1) == ['3/chat,1["héllo ✓"]']


def test_disconnect_has_no_payload() -> None:
    assert packets.encode(packets.DISCONNECT, "/chat", None) == ["1/chat,"]


def test_bytes_become_placeholders_and_attachments() -> None:
    encoded = packets.encode(packets.EVENT, "/chat", ["file", {"data": b"\x00\x01"}, b"x"])

    assert encoded == [
        '52-/chat,["file",{"data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]',
        b"\x00\x01",
        b"x",
    ]


def test_decode_event_with_namespace_and_ack_id() -> None:
    packet = packets.decode('2/chat,7["sendMessage",{"a":[1,2]}]')

    assert (packet.type, packet.namespace, packet.ack_id) == (packets.EVENT, "/chat", 7)
    assert packet.data == ["sendMessage", {"a": [1, 2]}]


def test_decode_connect_with_auth_and_without() -> None:
    assert packets.decode('0/chat,{"token":"t"}').data == {"token": "t"}
    assert packets.decode("0/chat,").data is None
    assert packets.decode("0").namespace == "/"


def test_decode_binary_event_fills_its_placeholders_once_attached() -> None:
    packet = packets.decode('51-/chat,3["up",{"_placeholder":true,"num":0}]')
    assert packet.attachments == 1

    packet.buffers.append(b"\xff")

    assert packet.with_binary() == ["up", b"\xff"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "9",
        "x",
        "2/chat,[",  # broken JSON
        '2/chat,{"a":1}',  # an event must be an array
        "2/chat,[]",  # with a name first
        "2/chat,[1]",
        "3/chat,[1]",  # an ack needs its id
        "1/chat,{}",  # a disconnect carries nothing
        "4/chat,{}",  # connect errors go to clients only
        '5/chat,["x"]',  # a binary event needs its count
        '50-/chat,["x"]',
        '599-/chat,["x"]',
        '2/chat,12345678901234567["x"]',  # an ack id no client could count to
    ],
)
def test_malformed_socketio_packets_are_refused(text: str) -> None:
    with pytest.raises(MalformedPacket):
        packets.decode(text)


@pytest.mark.parametrize("depth", [40, 5000])
def test_nesting_deeper_than_any_event_is_refused(depth: int) -> None:
    with pytest.raises(MalformedPacket):
        packets.decode('2/chat,["x",' + "[" * depth + "]" * depth + "]")


def test_nesting_an_event_needs_is_accepted() -> None:
    nested = '{"a":' * 10 + "1" + "}" * 10

    assert packets.decode(f'2/chat,["x",{nested}]').data[0] == "x"


def test_placeholder_without_its_attachment_is_refused() -> None:
    packet = packets.decode('51-/chat,["up",{"_placeholder":true,"num":3}]')
    packet.buffers.append(b"x")

    with pytest.raises(MalformedPacket):
        packet.with_binary()


def test_polling_bodies_join_packets_and_carry_binary_as_base64() -> None:
    body = packets.encode_polling(['42/chat,["a"]', b"\x01\x02", "2"])

    assert body == b'42/chat,["a"]\x1ebAQI=\x1e2'
    assert packets.decode_polling(body) == ['42/chat,["a"]', b"\x01\x02", "2"]


def test_polling_body_with_bad_base64_is_refused() -> None:
    with pytest.raises(MalformedPacket):
        packets.decode_polling(b"b!!!")


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (5, b"\x81\x05"),
        (126, b"\x81\x7e\x00\x7e"),
        (70_000, b"\x81\x7f" + (70_000).to_bytes(8, "big")),
    ],
)
def test_server_frames_carry_their_length_in_the_shortest_form(length: int, header: bytes) -> None:
    framed = frame("x" * length)

    assert framed == header + b"x" * length


def test_binary_messages_go_in_binary_frames() -> None:
    assert frame(b"\x00") == b"\x82\x01\x00"
