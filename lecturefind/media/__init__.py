"""Media I/O: probing (PyAV), frame sampling and audio decoding (static ffmpeg)."""
