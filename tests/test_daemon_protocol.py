"""The wire format alone: zero-copy arrays, every malformed shape refused with the right code, a light client."""

from __future__ import annotations

import subprocess
import sys

import msgpack
import numpy as np
import pytest
import zmq

from omnimotion_vfx.daemon.protocol import PROTOCOL_VERSION, ErrorCode, ProtocolError, decode, encode


def test_arrays_round_trip_over_a_socket_without_copies():
    context = zmq.Context.instance()
    server, client = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    try:
        frames = np.random.default_rng(1).random((3, 40, 50, 3)).astype(np.float16)
        visible = np.array([[True, False, True]])
        client.send_multipart(encode("submit", "r1", {"job": {"preset": "x"}}, {"frames": frames, "visible": visible}), copy=False)
        assert server.poll(5000)
        received = server.recv_multipart(copy=False)
        message = decode(received[1:])
        got = message.array("frames")
        assert message.type == "submit" and message.id == "r1" and message.fields == {"job": {"preset": "x"}}
        assert got.dtype == np.float16 and got.shape == frames.shape and np.array_equal(got, frames)
        assert np.shares_memory(got, np.frombuffer(received[2].buffer, np.uint8)), "decoding copied the buffer"
        assert np.array_equal(message.array("visible"), visible) and message.array("absent") is None
    finally:
        server.close(0)
        client.close(0)


def _header(**fields):
    header = {"v": PROTOCOL_VERSION, "type": "status", "id": 7}
    header.update(fields)
    return msgpack.packb(header)


@pytest.mark.parametrize(
    "frames, code",
    [
        ([], ErrorCode.BAD_MESSAGE),
        ([b"\xc1garbage"], ErrorCode.BAD_MESSAGE),
        ([msgpack.packb([1, 2, 3])], ErrorCode.BAD_MESSAGE),
        ([_header(v=99)], ErrorCode.BAD_VERSION),
        ([_header(type=5)], ErrorCode.BAD_MESSAGE),
        ([_header(id=[1])], ErrorCode.BAD_MESSAGE),
        ([_header(arrays=[{"dtype": "<f4", "shape": [2]}])], ErrorCode.BAD_MESSAGE),  # truncated: frame missing
        ([_header(), b"\x00" * 8], ErrorCode.BAD_MESSAGE),  # padded: undeclared frame
        ([_header(arrays=[{"dtype": "<f4", "shape": [3]}]), b"\x00" * 8], ErrorCode.BAD_MESSAGE),
        ([_header(arrays=[{"dtype": "|O", "shape": [1]}]), b"\x00" * 8], ErrorCode.BAD_MESSAGE),
        ([_header(arrays=[{"dtype": "<f4", "shape": [-2]}]), b"\x00" * 8], ErrorCode.BAD_MESSAGE),
        ([_header(arrays=[{"dtype": "<f4", "shape": [2**50, 2**50]}]), b""], ErrorCode.BAD_MESSAGE),
        ([_header(), b"x" * 100], ErrorCode.BAD_MESSAGE),
    ],
)
def test_malformed_messages_raise_the_documented_code(frames, code):
    with pytest.raises(ProtocolError) as caught:
        decode(frames)
    assert caught.value.code == code


def test_the_size_limit_counts_every_frame():
    frames = encode("submit", 1, None, {"a": np.zeros(600, np.uint8), "b": np.zeros(600, np.uint8)})
    assert decode(frames, max_bytes=2000).array("a").shape == (600,)
    with pytest.raises(ProtocolError) as caught:
        decode(frames, max_bytes=1000)
    assert caught.value.code == ErrorCode.TOO_LARGE


def test_unsendable_dtypes_are_refused_before_sending():
    with pytest.raises(ValueError, match="cannot be sent"):
        encode("x", 1, None, {"a": np.zeros(3, np.float64)})


def test_client_imports_neither_torch_nor_numpy():
    """Nuke and Blender load the client: it must stay light until arrays are involved."""
    code = "import sys, omnimotion_vfx.client; print(sorted(m for m in ('torch', 'numpy', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_every_error_code_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
    assert "version 1" in doc.splitlines()[0] and PROTOCOL_VERSION == 1
    missing = [code for code in ErrorCode.ALL if f"| `{code}` |" not in doc]
    assert not missing, f"docs/protocol.md lacks error codes {missing}"
