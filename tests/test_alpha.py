"""The Alpha protocol byte for byte, and the decoder as its mirror."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.sign import alpha
from wallboard.sign.memory import SignMemory, decode_text


def test_reference_checksums_from_the_protocol_description() -> None:
    assert alpha.checksum(b"\x02AAHELLO\x03") == b"01FB"
    assert alpha.checksum(b"\x02GaREAD ME\x03") == b"027B"
    assert alpha.command(b"A", b"AHELLO") == b"\x02AAHELLO\x0301FB"


def test_transmission_framing() -> None:
    packet = alpha.transmission(alpha.command(b"G", b"aREAD ME"), type_code="Z", address="00")
    assert packet == b"\x00\x00\x00\x00\x00\x01Z00\x02GaREAD ME\x03027B\x04"


def test_nested_commands_share_one_header() -> None:
    packet = alpha.transmission(
        alpha.write_string("1", b"3"), alpha.write_string("2", b"2:22"), type_code="^", address="0a"
    )
    assert packet.startswith(b"\x00" * 5 + b"\x01^0A\x02G13\x03")
    assert packet.count(b"\x02") == 2
    assert packet.endswith(b"\x04")


def test_every_command_exactly() -> None:
    assert alpha.write_text("A", b"HI", "top", "rotate") == alpha.command(b"A", b'A\x1b"aHI')
    assert alpha.write_text("0", b"X", "fill", "hold") == alpha.command(b"A", b"0\x1b0bX")
    assert alpha.clear_priority() == b"\x02A0\x03" + alpha.checksum(b"\x02A0\x03")
    assert alpha.write_string("1", b"12") == alpha.command(b"G", b"112")
    assert alpha.time_of_day(9, 5) == alpha.command(b"E", b" 0905")
    assert alpha.beep() == alpha.command(b"E", b"(2")
    assert alpha.soft_reset() == alpha.command(b"E", b",")
    assert alpha.run_sequence("AB") == alpha.command(b"E", b".TUAB")
    memory = alpha.memory_configuration(
        [alpha.FileSpec("A", "text", 256), alpha.FileSpec("1", "string", 8)]
    )
    assert memory == alpha.command(b"E", b"$AAU0100FF001BU00080000")
    assert alpha.coloured("red") + alpha.flashing(True) == b"\x1c1\x071"
    assert alpha.call_string("1") == b"\x101"


def test_danish_letters() -> None:
    assert alpha.sign_text("Åbner søndag kl. 18.30") == b"\x08\x2fbner soendag kl. 18.30"
    assert alpha.sign_text("ÆØÅ æøå", extended=False) == b"AEOEAA aeoeaa"
    assert decode_text(alpha.sign_text("Æble på Ærø")) == "Æble på Æroe".replace("Ærø", "Æroe")


def test_user_text_never_puts_control_bytes_on_the_wire() -> None:
    raw = alpha.sign_text("a\x00b\x01\x02\x03\x04\x1b\x7e\x7f\x80\u202e<script>~é\n", False)
    assert all(0x20 <= byte <= 0x7D for byte in raw)
    assert raw == b"ab-<script>-e "  # ~ (0x7E) is beyond what the sign shows: -


text_strategy = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


@given(text_strategy, st.booleans())
@settings(max_examples=300)
def test_encoder_and_decoder_round_trip(text: str, extended: bool) -> None:
    encoded = alpha.sign_text(text, extended)
    # Only the sign's own extended-character pairs may hold a byte outside 0x20-0x7D.
    plain = encoded.replace(alpha.EXTENDED, b"")
    assert all(0x20 <= byte <= 0x7D for byte in plain) or extended
    if not extended:
        assert all(0x20 <= byte <= 0x7D for byte in encoded)
    stream = alpha.transmission(alpha.write_text("A", encoded), alpha.write_string("1", encoded))
    reader = alpha.PacketReader()
    packets = []
    for start in range(0, len(stream), 7):  # in arbitrary chunks, as a serial line gives it
        packets += reader.feed(stream[start : start + 7])
    assert len(packets) == 1
    assert reader.rejected == 0
    memory = SignMemory()
    memory.apply(packets[0])
    [screen] = memory.screens()
    sanitised = decode_text(encoded)
    assert screen.text == sanitised
    assert decode_text(memory.strings["1"]) == sanitised
    assert decode_text(alpha.sign_text(sanitised, extended)) == sanitised  # a fixed point


@given(st.binary(max_size=300))
def test_decoder_survives_any_bytes(data: bytes) -> None:
    reader = alpha.PacketReader()
    memory = SignMemory()
    for packet in reader.feed(data) + reader.feed(data):
        memory.apply(packet)
    for screen in memory.screens():
        assert isinstance(screen.text, str)


def test_corrupted_checksum_is_dropped() -> None:
    good = alpha.transmission(alpha.write_string("1", b"5"))
    bad = good.replace(b"G15", b"G16")
    reader = alpha.PacketReader()
    assert reader.feed(bad + good) != []
    assert reader.rejected == 1
