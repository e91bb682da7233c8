"""A direct download (SAM's checkpoint) resumes after an interruption and is checked against its SHA-256
prefix. Served by a local HTTP server on 127.0.0.1 that honours Range requests and can cut a response."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.models.download import _fetch_url

DATA = bytes(range(256)) * 4096  # 1 MiB


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        ranged = self.headers.get("Range")
        server.ranges.append(ranged)
        start = int(ranged.removeprefix("bytes=").rstrip("-")) if ranged else 0
        if start >= len(DATA):
            self.send_response(416)
            self.end_headers()
            return
        body = DATA[start:]
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut, server.cut = server.cut, None
        self.wfile.write(body[:cut] if cut is not None else body)
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.ranges, httpd.cut = [], None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_an_interrupted_download_resumes_with_a_range_request_and_checks_the_whole_file(server, tmp_path):
    url = f"http://127.0.0.1:{server.server_port}/sam_vit_b_01ec64.pth"
    target = tmp_path / "models" / "sam_vit_b_01ec64.pth"
    prefix = hashlib.sha256(DATA).hexdigest()[:6]
    server.cut = 300_000
    with pytest.raises(OSError, match=r"interrupted.*run it again to resume"):
        _fetch_url(url, target, prefix)
    partial = target.with_name(target.name + ".part")
    assert not target.exists() and partial.stat().st_size == 300_000

    seen = []
    _fetch_url(url, target, prefix, progress=lambda done, total: seen.append((done, total)))
    assert server.ranges == [None, "bytes=300000-"]
    assert target.read_bytes() == DATA and not partial.exists()
    assert seen[-1] == (len(DATA), len(DATA)) and seen[0][0] > 300_000  # counted from what was kept


def test_a_corrupt_download_is_refused_and_not_kept(server, tmp_path):
    url = f"http://127.0.0.1:{server.server_port}/sam.pth"
    target = tmp_path / "sam.pth"
    with pytest.raises(ValueError, match="checksum mismatch"):
        _fetch_url(url, target, "000000")
    assert not target.exists() and not target.with_name("sam.pth.part").exists()


def test_a_part_file_that_is_already_complete_is_checked_and_renamed(server, tmp_path):
    target = tmp_path / "sam.pth"
    target.with_name("sam.pth.part").write_bytes(DATA)
    _fetch_url(f"http://127.0.0.1:{server.server_port}/sam.pth", target, hashlib.sha256(DATA).hexdigest()[:6])
    assert server.ranges == [f"bytes={len(DATA)}-"] and target.read_bytes() == DATA


def test_every_downloadable_role_has_a_size_for_the_first_run_dialog():
    """The first-run dialog offers "Download missing" only for roles whose size it can show: a role
    with a source but no size (matting, once) could never be fetched from the app."""
    from engine.models.config import ROLES
    from engine.models.download import DOWNLOAD_SIZES, SOURCES

    assert set(SOURCES) == set(DOWNLOAD_SIZES) == set(ROLES)
    assert all(size > 10_000_000 for size in DOWNLOAD_SIZES.values())
