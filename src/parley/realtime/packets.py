"""The two packet formats the official clients speak, Engine.IO 4 inside Socket.IO 5.

An Engine.IO packet is a type digit and a payload: text (`4hello`) or, for a binary
message, raw bytes (over HTTP long-polling, `b` and base64). A Socket.IO packet travels as
the payload of an Engine.IO message:

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]

where the namespace is left out for `/`, and each binary value in the JSON is replaced by a
placeholder `{"_placeholder": true, "num": N}` whose bytes follow as binary messages.

Over a WebSocket, each Engine.IO packet is one frame (RFC 6455); `frame` builds the frame a
server sends, unmasked and whole.

Everything here is pure: strings and bytes in, values out, `MalformedPacket` on anything
the formats do not allow.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

# Engine.IO packet types.
OPEN = "0"
CLOSE = "1"
PING = "2"
PONG = "3"
MESSAGE = "4"
UPGRADE = "5"
NOOP = "6"

# Polling bodies separate packets with the ASCII record separator.
RECORD_SEPARATOR = "\x1e"

# Socket.IO packet types.
CONNECT = 0
DISCONNECT = 1
EVENT = 2
ACK = 3
CONNECT_ERROR = 4
BINARY_EVENT = 5
BINARY_ACK = 6

# An ack id is a JavaScript number the client counts up from 0; past 2**53 it could not
# count exactly, so a longer one is garbage.
ACK_ID_MAX_DIGITS = 16
# Attachments per packet: each is a binary message the server holds until the last arrives.
ATTACHMENTS_MAX = 16
# Levels of nesting in a packet's JSON: an event's arguments, a payload, metadata nested 5
# deep (the contract's limit), with room to spare; deeper is refused before anything walks it.
DEPTH_MAX = 32

_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode_json = json.JSONDecoder().decode


class MalformedPacket(ValueError):
    """Input that is not a packet of the protocol: the connection that sent it is closed."""


@dataclass(slots=True)
class Packet:
    """One Socket.IO packet; binary packets are complete once `attachments` have arrived."""

    type: int
    namespace: str = "/"
    data: Any = None
    ack_id: int | None = None
    attachments: int = 0
    buffers: list[bytes] = field(default_factory=list)

    def with_binary(self) -> Any:
        """The data with each placeholder replaced by its attachment."""
        return _fill(self.data, self.buffers)


def encode(packet_type: int, namespace: str, data: Any, ack_id: int | None = None) -> list[Any]:
    """A Socket.IO packet as the Engine.IO message payloads that carry it: its text, then
    one bytes value per attachment when `data` holds any bytes."""
    buffers: list[bytes] = []
    try:
        body = "" if data is None else _encode_json(data)
    except TypeError:  # bytes in it (JSON has none): placeholders, and the bytes apart
        body = _encode_json(_hollow(data, buffers))
    head = str(packet_type)
    if buffers:
        head = str(BINARY_EVENT if packet_type == EVENT else BINARY_ACK) + f"{len(buffers)}-"
    if namespace != "/":
        head += namespace + ","
    if ack_id is not None:
        head += str(ack_id)
    return [head + body, *buffers]


def decode(text: str) -> Packet:
    """A Socket.IO packet from the text of an Engine.IO message."""
    if not text or not "0" <= text[0] <= "6":
        raise MalformedPacket("unknown Socket.IO packet type")
    packet = Packet(int(text[0]))
    at = 1
    if packet.type in (BINARY_EVENT, BINARY_ACK):
        dash = text.find("-", at)
        count = text[at:dash]
        if dash < 0 or not count.isdigit() or len(count) > 2:
            raise MalformedPacket("binary packet without its attachment count")
        packet.attachments = int(count)
        if not 0 < packet.attachments <= ATTACHMENTS_MAX:
            raise MalformedPacket("attachment count out of range")
        at = dash + 1
    if text.startswith("/", at):
        comma = text.find(",", at)
        end = len(text) if comma < 0 else comma
        packet.namespace = text[at:end]
        at = end + 1
    digits = at
    while digits < len(text) and "0" <= text[digits] <= "9":
        digits += 1
    if digits > at:
        if digits - at > ACK_ID_MAX_DIGITS:
            raise MalformedPacket("ack id too long")
        packet.ack_id = int(text[at:digits])
        at = digits
    if at < len(text):
        try:
            packet.data = _decode_json(text[at:])
        except ValueError:
            raise MalformedPacket("payload is not JSON") from None
        except RecursionError:
            raise MalformedPacket("payload nested too deeply") from None
        _check_depth(packet.data)
    _check_shape(packet)
    return packet


def _check_depth(data: Any) -> None:
    """Refuse nesting deeper than any event needs, before code that walks it recursively."""
    level = [data]
    for _ in range(DEPTH_MAX):
        level = [
            child
            for item in level
            if isinstance(item, list | dict)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return
    raise MalformedPacket("payload nested too deeply")


def _check_shape(packet: Packet) -> None:
    data = packet.data
    if packet.type == CONNECT:
        ok = data is None or isinstance(data, dict)
    elif packet.type == DISCONNECT:
        ok = data is None
    elif packet.type in (EVENT, BINARY_EVENT):
        ok = isinstance(data, list) and bool(data) and isinstance(data[0], str)
    elif packet.type in (ACK, BINARY_ACK):
        ok = isinstance(data, list) and packet.ack_id is not None
    else:  # CONNECT_ERROR goes from servers to clients only
        ok = False
    if not ok:
        raise MalformedPacket("packet payload has the wrong shape for its type")


def _hollow(data: Any, buffers: list[bytes]) -> Any:
    """`data` with each bytes value moved to `buffers` and a placeholder in its place."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        buffers.append(bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, list | tuple):
        return [_hollow(item, buffers) for item in data]
    if isinstance(data, dict):
        return {key: _hollow(value, buffers) for key, value in data.items()}
    return data


def has_binary(data: Any) -> bool:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return True
    if isinstance(data, list | tuple):
        return any(has_binary(item) for item in data)
    if isinstance(data, dict):
        return any(has_binary(value) for value in data.values())
    return False


def _fill(data: Any, buffers: list[bytes]) -> Any:
    if isinstance(data, list):
        return [_fill(item, buffers) for item in data]
    if isinstance(data, dict):
        if data.get("_placeholder") is True and len(data) == 2:
            num = data.get("num")
            if type(num) is not int or not 0 <= num < len(buffers):
                raise MalformedPacket("placeholder without its attachment")
            return buffers[num]
        return {key: _fill(value, buffers) for key, value in data.items()}
    return data


# Engine.IO over HTTP long-polling


def encode_polling(packets: list[str | bytes]) -> bytes:
    """Engine.IO packets as one polling response body."""
    parts = [p if isinstance(p, str) else "b" + base64.b64encode(p).decode() for p in packets]
    return RECORD_SEPARATOR.join(parts).encode()


def decode_polling(body: bytes) -> list[str | bytes]:
    """The Engine.IO packets of a polling request body."""
    if not body:
        return []
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise MalformedPacket("polling body is not UTF-8") from None
    packets: list[str | bytes] = []
    for part in text.split(RECORD_SEPARATOR):
        if part.startswith("b"):
            try:
                packets.append(base64.b64decode(part[1:], validate=True))
            except binascii.Error:
                raise MalformedPacket("binary packet is not base64") from None
        else:
            packets.append(part)
    return packets


# WebSocket frames, as a server writes them


def frame(packet: str | bytes) -> bytes:
    """One unmasked, unfragmented server frame carrying `packet`: text or binary."""
    if isinstance(packet, str):
        return frame_bytes(0x81, packet.encode())
    return frame_bytes(0x82, packet)


def frame_bytes(first: int, payload: bytes) -> bytes:
    """A frame whose first byte (FIN and opcode) is `first`, with the shortest length form."""
    length = len(payload)
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big") + payload
    return bytes((first, 127)) + length.to_bytes(8, "big") + payload
