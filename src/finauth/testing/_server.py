"""Serving an emulator over real HTTP on a loopback port, from a background thread.

The server also acts out the network faults a `Reply` may ask for: an answer held
back (`stall`) and a connection reset (`reset`).
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

from ._emulator import Call, Emulator, Reply

POLL_INTERVAL = 0.005
"""Seconds between the serving loop's checks for `stop()`: what each stop waits, at most."""


class EmulatorServer:
    """An emulator on http://127.0.0.1:<free port>, keep-alive, stopped cleanly.

    >>> with EmulatorServer(FincruxEmulator()) as server:
    ...     requests.get(server.base_url + "/api/search/RELIANCE")
    """

    def __init__(self, emulator: Emulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self._httpd = _HTTPServer((host, port), emulator)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"finauth {emulator.name} emulator",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}{self.emulator.prefix}"

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every open connection, and wait for every handler."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True
    request_queue_size = 1024  # storms connect by the hundred; the default 5 drops SYNs

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handlers waiting on idle keep-alive connections, so they can end."""
        with self._connections_lock:
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "finauth-emulator"
    server: _HTTPServer

    def _serve(self) -> None:
        try:
            body = self._body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            self.close_connection = True
            reply = Reply.json({"message": "malformed request body framing"}, 400)
        else:
            reply = self._answer(body)
        if reply.stall > 0 and not self._held_back(reply.stall):
            self.close_connection = True  # nobody is waiting for the answer any more
            return
        if reply.reset == "before":
            self._reset()
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.reset == "midway":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self._reset()
        elif reply.trickle > 0:
            self._trickle(reply.body, reply.trickle)
        elif self.command != "HEAD":
            self.wfile.write(reply.body)

    def _trickle(self, body: bytes, seconds: float) -> None:
        """Send `body` a byte at a time, `seconds` apart, until the client hangs up."""
        for at in range(len(body)):
            if at and not self._held_back(seconds):
                self.close_connection = True
                return
            self.wfile.write(body[at : at + 1])

    def _held_back(self, seconds: float) -> bool:
        """Wait `seconds` before answering; False if the client hung up meanwhile.

        The wait also ends when the server stops, since `close_connections` shuts
        the socket down, so a stall never holds `stop()` up; and, answering at once,
        when the client sends more (nothing a waiting HTTP/1.1 client does).
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            if not selector.select(seconds):
                return True
        try:
            waiting: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return False
        return waiting != b""  # b"": the client closed its end

    def _reset(self) -> None:
        """End the connection with a TCP RST: what was written stays sent, nothing follows.

        The socket is closed right here, with a zero linger time: closed later, by
        the server, it would first be shut down, and the client would see a FIN.
        """
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the socket closes only once no file made from it is open
        self.connection.close()

    def _answer(self, body: bytes) -> Reply:
        path, _, query = self.path.partition("?")
        call = Call(self.command, path, query, httpx.Headers(self.headers.items()), body)
        try:
            return self.server.emulator.handle(call)
        except Exception as error:  # an emulator bug: answer it rather than hang the client
            return Reply.json({"message": f"emulator error: {error!r}"}, 500)

    def version_string(self) -> str:
        return self.server_version

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _chunked_body(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and the demo print what matters themselves
