"""ffmpeg's failures become one line a person can act on: no `[component @ 0x…]` noise, no raw exit codes."""
from __future__ import annotations

import pytest

from lecturefind.media.ffmpeg import reason


@pytest.mark.parametrize("stderr,want", [
    ("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55ce1a2b3c40] moov atom not found\n/x.mp4: Invalid data found when processing input",
     "truncated file: its index (moov atom) is missing"),
    ("[out#0/rawvideo @ 0x55ce7f0e1c80] Output file does not contain any stream",
     "no picture or sound stream can be decoded"),
    ("/tmp/a.mov: Invalid data found when processing input",
     "not a readable video (invalid data: corrupt, or not the format its name says)"),
    ("[h264 @ 0x5600aa] Error while decoding stream #0:0: Invalid NAL unit size\n[h264 @ 0x5600aa] partial file",
     "truncated file: it ends early (an incomplete download or copy?)"),
    ("[h264 @ 0x5600aa] Error while decoding stream #0:0: Invalid NAL unit size", "truncated or corrupt stream"),
    ("[h264 @ 0x5600aa] error while decoding MB 12 3, bytestream -5", "truncated or corrupt stream"),
    ("[aac @ 0x55] Something new went wrong here", "ffmpeg could not decode it: Something new went wrong here"),
    ("", "ffmpeg could not decode it"),
])
def test_reason(stderr, want):
    got = reason(stderr)
    assert got == want
    assert "0x" not in got and "return code" not in got
