"""The gallery's cost on the answer: POST /generateimage with the gallery on vs off, side by side on one worker."""

import statistics
import tempfile
import time
import zlib
from pathlib import Path

import httpx
from genproto import generator_pb2

from api.gallery.recording import new_image
from api.gallery.store import Gallery
from api.native.protocol import GenerateImageRequest
from scripts.devstack import start_api, start_worker


def _p50_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def gallery_overhead(size: int = 512, steps: int = 1, repeats: int = 25) -> None:
    """Two gateways in front of one demo worker, gallery on (SQLite, fsync) and off; requests interleaved."""
    worker = start_worker("bench-gallery")
    on = start_api("bench-gallery-on", worker.port)
    off = start_api("bench-gallery-off", worker.port, API_GALLERY="false")
    body = {"positivePrompt": "a lighthouse at dusk", "width": size, "height": size, "steps": steps, "seed": 42}
    times: dict[str, list[float]] = {"on": [], "off": []}
    sample = b""
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{on.port}", timeout=600) as with_gallery,
            httpx.Client(base_url=f"http://127.0.0.1:{off.port}", timeout=600) as without,
        ):
            clients = {"on": with_gallery, "off": without}
            for client in clients.values():  # warm both
                client.post("/generateimage", json=body).raise_for_status()
            for index in range(repeats):
                # Alternate which goes first, so neither always follows the other's cache state.
                for name in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    started = time.perf_counter()
                    response = clients[name].post("/generateimage", json=body)
                    times[name].append(time.perf_counter() - started)
                    response.raise_for_status()
                    sample = response.content
    finally:
        on.stop()
        off.stop()
        worker.stop()
    p50_on, p50_off = _p50_ms(times["on"]), _p50_ms(times["off"])
    print(
        f"gallery {size}x{size} {steps} step(s), {len(sample) // 1024} KiB PNG: POST /generateimage p50 on "
        f"{p50_on:.1f} ms vs off {p50_off:.1f} ms (x{p50_on / p50_off:.3f}, {p50_on - p50_off:+.1f} ms), "
        f"median of {repeats} interleaved"
    )
    # The same write alone, without the generation's noise: what the answer waits for.
    with tempfile.TemporaryDirectory() as folder:
        gallery = Gallery.open(f"sqlite:///{folder}/gallery.db", Path(folder))
        request = GenerateImageRequest.model_validate(body)
        saves = []
        for seed in range(repeats):
            reply = generator_pb2.GenerateImageResponse(
                image=_distinct(sample, seed), mime_type="image/png", seed=42, width=size, height=size, steps=steps
            )
            started = time.perf_counter()
            gallery.save(new_image("", request, reply, total_seconds=0.0))  # a real write each time
            saves.append(time.perf_counter() - started)
            gallery.settle()  # its thumbnail is made after the answer: not part of what the answer waits for
        gallery.close()
    print(f"gallery save alone (file fsync + rename + row commit, SQLite WAL): p50 {_p50_ms(saves):.2f} ms")


def _distinct(png: bytes, seed: int) -> bytes:
    """The PNG with one more text chunk: a valid image whose content (and so file) is new."""
    chunk = b"tEXt" + b"bench\x00" + str(seed).encode()
    return png[:-12] + len(chunk[4:]).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + png[-12:]
