"""The Alpha protocol byte for byte, and the decoder as its mirror."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard.sign import alpha
from wallboard.sign.memory import SignMemory, decode_text


def test_reference_checksums_from_the_protocol_description() -> None:
    assert alpha.checksum(b"\x02AAHELLO\x03") == b"01FB"
    assert alpha.checksum(b"\x02GaREAD ME\x03") == b"027B"
    assert alpha.block(b"A", b"AHELLO") == b"\x02AAHELLO\x0301FB"


def test_transmission_framing() -> None:
    packet = alpha.encode(alpha.Transmission((alpha.WriteString("a", b"READ ME"),), "Z", "00"))
    assert packet == b"\x00\x00\x00\x00\x00\x01Z00\x02GaREAD ME\x03027B\x04"


def test_nested_commands_share_one_header() -> None:
    strings = (alpha.WriteString("1", b"3"), alpha.WriteString("2", b"2:22"))
    packet = alpha.encode(alpha.Transmission(strings, type_code="^", address="0a"))
    assert packet.startswith(b"\x00" * 5 + b"\x01^0A\x02G13\x03")
    assert packet.count(b"\x02") == 2
    assert packet.endswith(b"\x04")


def test_every_command_exactly() -> None:
    wire = alpha.encode_command
    assert wire(alpha.WriteText("A", b"HI", "top", "rotate")) == alpha.block(b"A", b'A\x1b"aHI')
    assert wire(alpha.WriteText("0", b"X", "fill", "hold")) == alpha.block(b"A", b"0\x1b0bX")
    assert wire(alpha.clear_priority()) == b"\x02A0\x03" + alpha.checksum(b"\x02A0\x03")
    assert wire(alpha.WriteString("1", b"12")) == alpha.block(b"G", b"112")
    assert wire(alpha.SetTimeOfDay(9, 5)) == alpha.block(b"E", b" 0905")
    assert wire(alpha.Beep()) == alpha.block(b"E", b"(2")
    assert wire(alpha.SoftReset()) == alpha.block(b"E", b",")
    assert wire(alpha.RunSequence("AB")) == alpha.block(b"E", b".TUAB")
    memory = alpha.ConfigureMemory(
        (alpha.FileSpec("A", "text", 256), alpha.FileSpec("1", "string", 8))
    )
    assert wire(memory) == alpha.block(b"E", b"$AAU0100FF001BU00080000")
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
    commands = (alpha.WriteText("A", encoded), alpha.WriteString("1", encoded))
    stream = alpha.encode(alpha.Transmission(commands))
    reader = alpha.Reader()
    packets = []
    for start in range(0, len(stream), 7):  # in arbitrary chunks, as a serial line gives it
        packets += reader.transmissions(stream[start : start + 7])
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
    reader = alpha.Reader(max_bytes=256)
    memory = SignMemory()
    for packet in reader.transmissions(data) + reader.transmissions(data):
        memory.apply(packet)
    for screen in memory.screens():
        assert isinstance(screen.text, str)


def test_corrupted_checksum_is_dropped() -> None:
    good = alpha.encode(alpha.Transmission((alpha.WriteString("1", b"5"),)))
    bad = good.replace(b"G15", b"G16")
    reader = alpha.Reader()
    events = reader.events(bad + good)
    assert events == [
        alpha.Rejected("bad checksum"),
        alpha.Transmission((alpha.WriteString("1", b"5"),)),
    ]
    assert reader.rejected == 1


# --- the typed commands both ways: decode(encode(x)) == x ------------------------------------

# Bytes a file may hold: anything but the framing bytes (NUL..EOT) and ESC, which opens the
# position and mode of a TEXT file.
file_bytes = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x > 0x04 and x != 0x1B))
labels = st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
commands = st.one_of(
    st.builds(
        alpha.WriteText,
        labels,
        file_bytes,
        st.sampled_from(sorted(alpha.POSITIONS)),
        st.sampled_from(sorted(alpha.MODES)),
    ),
    st.builds(alpha.WriteText, labels, file_bytes, st.none(), st.none()),
    st.builds(alpha.WriteString, labels, file_bytes),
    st.builds(
        alpha.ConfigureMemory,
        st.lists(
            st.builds(
                alpha.FileSpec,
                labels,
                st.sampled_from(["text", "string"]),
                st.integers(0, 0xFFFF),
            ),
            max_size=6,
        ).map(tuple),
    ),
    st.builds(alpha.RunSequence, st.text(alphabet="ABC0123", max_size=8)),
    st.builds(alpha.SetTimeOfDay, st.integers(0, 23), st.integers(0, 59)),
    st.just(alpha.Beep()),
    st.just(alpha.SoftReset()),
)
transmissions = st.builds(
    alpha.Transmission,
    st.lists(commands, max_size=6).map(tuple),
    st.sampled_from(sorted(alpha.TYPE_CODES.values())),
    st.text(alphabet="0123456789ABCDEF", min_size=2, max_size=2),
)


@given(st.lists(transmissions, min_size=1, max_size=4), st.integers(1, 50))
@settings(max_examples=300)
def test_decode_of_encode_is_the_same_transmission(
    sent: list[alpha.Transmission], chunk: int
) -> None:
    stream = b"".join(alpha.encode(transmission) for transmission in sent)
    reader = alpha.Reader()
    received: list[alpha.Transmission | alpha.Rejected] = []
    for start in range(0, len(stream), chunk):
        received += reader.events(stream[start : start + chunk])
    assert received == sent


def test_the_reader_buffer_is_bounded() -> None:
    reader = alpha.Reader(max_bytes=1024)
    for _ in range(100):  # a line of noise after a start byte, that never ends
        reader.receive_data(b"\x01" + b"x" * 500)
        assert len(reader._buffer) <= 1024
    assert reader.rejected > 0
    good = alpha.Transmission((alpha.WriteString("1", b"7"),))
    assert reader.transmissions(alpha.encode(good)) == [good]
