"""Fault injection for tests of offline sync: a second PostgreSQL cluster playing the
school's central server, and a TCP proxy in front of it that loses messages on purpose.

Sync has to survive what a school's network does to it: a reply lost after the server
committed (the client must not apply the change twice), a request lost before the server
saw it, a server that is down, restarted or killed mid-transaction. These helpers make
each of those happen at a chosen moment against a real server, so the tests need no
mocks. They are helpers, not tests: import them (fixtures included) from a test module.
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace, TracebackType
from urllib.parse import quote

import psutil
import psycopg
import pytest
from psycopg import sql

# pgserver reads XDG_RUNTIME_DIR when imported; its absence is harmless (see app.db.engine).
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=Warning)

from pgserver._commands import POSTGRES_BIN_PATH  # noqa: E402
from pgserver.postgres_server import PostgresServer  # noqa: E402
from pgserver.utils import (  # noqa: E402
    ensure_prefix_permissions,
    find_suitable_port,
    find_suitable_socket_dir,
)

from app.db.engine import _postmaster, _prepare_log, _system_user, server_log_path  # noqa: E402

SUPERUSER = "postgres"  # the role pgserver's initdb creates
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0

_STOP_SIGNALS = {
    "smart": signal.SIGTERM,
    "fast": signal.SIGINT,
    "immediate": signal.SIGQUIT,
}


class ServerCluster:
    """A PostgreSQL cluster of its own in ``folder``: the school's central server.

    It is separate from the test session's cluster so a test can stop, restart or kill
    it without touching anyone else's databases. Like the embedded cluster it listens on
    a Unix socket only; clients reach it over TCP through a ``FaultProxy``.

    The postmaster is started directly as a child of this process rather than through
    ``pg_ctl`` (which leaves it an orphan): after ``kill()`` the harness reaps it at
    once. An orphan is reaped by process 1, which on some machines takes seconds or
    never happens, and a zombie postmaster's pid in ``postmaster.pid`` stops the next
    start ("lock file already exists").
    """

    def __init__(self, folder: Path, settings: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self.pgdata = folder / "pgdata"
        self.log_path = server_log_path(self.pgdata)
        self.settings = dict(settings or {})
        # No TCP listener: the port only names the socket file, and a free one keeps
        # two clusters sharing a socket folder (or a shared-memory key) apart. Fixed for
        # the object's life, so a restart comes back at the same socket path.
        self.port = find_suitable_port("127.0.0.1")
        self._socket_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise RuntimeError("the cluster has not been started yet")
        return self._socket_dir

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid if self.running and self._process else None

    def libpq_url(self, dbname: str = "postgres") -> str:
        """A libpq URL over the Unix socket, bypassing any proxy (for checking what the
        server really holds)."""
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{SUPERUSER}@/{quote(dbname, safe='')}?host={host}&port={self.port}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its direct libpq URL."""
        with psycopg.connect(self.libpq_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.libpq_url(name)

    def start(self) -> None:
        """Create the cluster if it is new, then start it and wait until it accepts
        connections. After ``kill()`` this runs crash recovery first."""
        if self.running:
            return
        user = _system_user()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        # pgserver's own initdb step (trust for local connections, the "postgres" role,
        # the data folder handed to its system user when running as root). Run on
        # every start: it also re-opens the folders above pgdata to that user, which
        # pytest closes again (mode 0700 on its temporary root) when a run begins.
        PostgresServer.ensure_pgdata_inited(
            SimpleNamespace(pgdata=self.pgdata, system_user=user, postgres_user=SUPERUSER)
        )
        if self._socket_dir is None:
            self._socket_dir = find_suitable_socket_dir(self.pgdata, PostgresServer.runtime_path)
        if user is not None and self._socket_dir != self.pgdata:
            ensure_prefix_permissions(self._socket_dir)
            self._socket_dir.chmod(0o777)
        _prepare_log(self.log_path, owner_of=self.pgdata)
        options = [arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}")]
        command = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.pgdata), "-h", "",
                   "-k", str(self._socket_dir), "-p", str(self.port), *options]  # fmt: skip
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C meant for pytest must not stop the server.
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                user=user, start_new_session=True,
            )  # fmt: skip
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"PostgreSQL stopped while starting:\n{self._log_tail()}")
            info = _postmaster(self.pgdata)
            # postmaster.pid names the new postmaster, and says "ready" once recovery
            # is over and connections are accepted.
            if info is not None and info.pid == self._process.pid and info.status == "ready":
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"PostgreSQL did not start in {START_TIMEOUT_S:.0f} s:\n{self._log_tail()}"
        )

    def _log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        return "(no server log)"

    def stop(self, mode: str = "fast") -> None:
        """Shut down as ``pg_ctl stop -m mode`` would: "smart" waits for clients,
        "fast" disconnects them, "immediate" leaves crash recovery for the next start."""
        if mode not in _STOP_SIGNALS:
            raise ValueError(f"unknown shutdown mode {mode!r}; use one of {sorted(_STOP_SIGNALS)}")
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(_STOP_SIGNALS[mode])
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(
                f"PostgreSQL did not stop ({mode}) in {STOP_TIMEOUT_S:.0f} s; killed it"
            ) from None

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and every server process, as if the machine died:
        nothing is flushed or checkpointed, and the next ``start()`` recovers from the
        write-ahead log."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        process.kill()
        process.wait()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        # Orphaned server processes still attached to the old shared memory would make
        # the next postmaster refuse to start; zombies have let go of it already.
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in children:
            while time.monotonic() < deadline:
                try:
                    if child.status() == psutil.STATUS_ZOMBIE:
                        break
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.02)

    def __enter__(self) -> ServerCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server whatever state the test left it in."""
        try:
            self.stop("fast")
        finally:
            self.kill()


# --- the proxy -----------------------------------------------------------------------

# Untyped packets a client may send before its startup packet (codes from the protocol).
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
# Client messages each answered by exactly one ReadyForQuery ('Z'): Sync, simple Query,
# FunctionCall. The startup packet is answered by one too (after authentication).
_SYNC_POINTS = frozenset(b"SQF")
_READY_FOR_QUERY = ord("Z")
_CHUNK = 65536


@dataclass
class _Fault:
    kind: str  # "drop_reply_to" or "drop_when_sent"
    marker: bytes


@dataclass
class _Frame:
    label: str  # message type letter, or "startup" / "SSLRequest" / ... for untyped ones
    data: bytes  # the whole message as it goes on the wire
    content: bytes  # what a marker is looked for in (no type byte or length)
    sync_point: bool  # answered by one ReadyForQuery


class _Link:
    """One client connection and its connection to the server, pumped by two threads
    (one per direction, so neither side's full buffer can stall the other).

    The client→server pump frames messages to find markers; the server→client pump
    frames replies to count ReadyForQuery messages, which is how a lost reply is timed.
    All mutable state is guarded by the proxy's lock.
    """

    def __init__(
        self, proxy: FaultProxy, number: int, client: socket.socket, server: socket.socket
    ):
        self.proxy = proxy
        self.number = number
        self.client = client
        self.server = server
        self.closed = False
        self._threads_left = 2
        # Protocol state.
        self.startup_phase = True  # client packets have no type byte yet
        self.raw_replies_pending = 0  # one-byte answers owed to SSL/GSS requests
        self.opaque = False  # encrypted or not understood: pass bytes through blindly
        self.sync_points_sent = 0
        self.ready_seen = 0
        # drop_reply_to on this link: the ReadyForQuery number that ends the reply to
        # the marker message; everything the server sends after the one before it is
        # discarded, and the link is cut when this one arrives.
        self.drop_at_ready: int | None = None
        self.drop_marker = b""
        self.discarded = 0
        self.discarded_error = False  # the dropped reply held an ErrorResponse
        self.threads = [
            threading.Thread(target=self._pump, args=(True,), daemon=True,
                             name=f"fault-proxy-{proxy.port}-{number}-up"),
            threading.Thread(target=self._pump, args=(False,), daemon=True,
                             name=f"fault-proxy-{proxy.port}-{number}-down"),
        ]  # fmt: skip

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def cut(self) -> None:
        """Close both sockets now; the pumps notice and end. shutdown() rather than
        close(): it wakes a thread blocked in recv() on the socket, close() would not."""
        with self.proxy._lock:
            self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _pump(self, upstream: bool) -> None:
        source, sink = (self.client, self.server) if upstream else (self.server, self.client)
        buffer = bytearray()
        try:
            while True:
                if not upstream and not self._wait_readable():
                    break
                data = source.recv(_CHUNK)
                if not data:
                    break
                buffer += data
                with self.proxy._lock:
                    if self.closed:
                        break
                    out, cut = self._upstream(buffer) if upstream else self._downstream(buffer)
                if out:
                    sink.sendall(out)
                if cut:
                    break
        except OSError:
            pass  # a socket closed under us (cut, reset): the link ends either way
        finally:
            self.cut()
            self._thread_done()

    def _wait_readable(self) -> bool:
        """Wait for server bytes. While a reply is being discarded, give up after the
        proxy's grace period (a client that sent no Sync would otherwise wait forever)."""
        with self.proxy._lock:
            discarded, marker = self.discarded, self.drop_marker
        if not discarded:
            return True
        with selectors.DefaultSelector() as selector:
            selector.register(self.server, selectors.EVENT_READ)
            if selector.select(self.proxy.reply_grace_s):
                return True
        self.proxy._record(
            f"connection {self.number}: drop_reply_to {marker!r} cut the connection after "
            f"{discarded} bytes of reply and no ReadyForQuery for "
            f"{self.proxy.reply_grace_s:g} s"
        )
        return False

    def _thread_done(self) -> None:
        with self.proxy._lock:
            self._threads_left -= 1
            last = self._threads_left == 0
            if last:
                self.proxy._links.discard(self)
        if last:
            self.client.close()
            self.server.close()

    # Both parsers run with the proxy's lock held and consume whole messages from the
    # front of ``buffer``, leaving a partial one for the next read.

    def _upstream(self, buffer: bytearray) -> tuple[bytes, bool]:
        out = bytearray()
        while True:
            if self.opaque:
                out += buffer
                buffer.clear()
                return bytes(out), False
            frame = self._client_frame(buffer)
            if frame is None:
                return bytes(out), False
            fault = self.proxy._take_fault(frame.content, reply_pending=self.drop_at_ready)
            if fault is not None and fault.kind == "drop_when_sent":
                self.proxy._events.append(
                    f"connection {self.number}: drop_when_sent {fault.marker!r} cut the "
                    f"connection before forwarding message {frame.label!r}"
                )
                return bytes(out), True
            if fault is not None:
                self.drop_at_ready = self.sync_points_sent + 1
                self.drop_marker = fault.marker
                self.proxy._events.append(
                    f"connection {self.number}: drop_reply_to {fault.marker!r} matched "
                    f"message {frame.label!r}; its reply will be dropped"
                )
            if frame.sync_point:
                self.sync_points_sent += 1
            out += frame.data

    def _client_frame(self, buffer: bytearray) -> _Frame | None:
        if self.startup_phase:
            if len(buffer) < 8:
                return None
            length = int.from_bytes(buffer[:4], "big")
            if not 8 <= length <= 10_000:
                self.opaque = True
                return None
            if len(buffer) < length:
                return None
            data = bytes(buffer[:length])
            del buffer[:length]
            code = int.from_bytes(data[4:8], "big")
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                self.raw_replies_pending += 1
                label = "SSLRequest" if code == _SSL_REQUEST else "GSSENCRequest"
            elif code == _CANCEL_REQUEST:
                self.opaque = True  # nothing but this packet follows
                label = "CancelRequest"
            else:
                self.startup_phase = False
                label = "startup"
            return _Frame(label, data, data[8:], label == "startup")
        if len(buffer) < 5:
            return None
        length = int.from_bytes(buffer[1:5], "big")
        if length < 4:
            self.opaque = True
            return None
        if len(buffer) < 1 + length:
            return None
        data = bytes(buffer[: 1 + length])
        del buffer[: 1 + length]
        return _Frame(chr(data[0]), data, data[5:], data[0] in _SYNC_POINTS)

    def _downstream(self, buffer: bytearray) -> tuple[bytes, bool]:
        out = bytearray()
        while buffer:
            if self.opaque:
                out += buffer
                buffer.clear()
                break
            if self.raw_replies_pending and buffer[0] != ord("E"):
                # The one-byte answer to an SSL/GSS request. Over a Unix socket the server
                # always says 'N' (no encryption); anything else is not ours to read.
                self.raw_replies_pending -= 1
                if buffer[0] != ord("N"):
                    self.opaque = True
                    continue
                out += buffer[:1]
                del buffer[:1]
                continue
            self.raw_replies_pending = 0
            if len(buffer) < 5:
                break
            length = int.from_bytes(buffer[1:5], "big")
            if len(buffer) < 1 + length:
                break
            data = bytes(buffer[: 1 + length])
            del buffer[: 1 + length]
            discarding = (
                self.drop_at_ready is not None and self.ready_seen >= self.drop_at_ready - 1
            )
            if data[0] == _READY_FOR_QUERY:
                self.ready_seen += 1
            if not discarding:
                out += data
                continue
            self.discarded += len(data)
            self.discarded_error = self.discarded_error or data[0] == ord("E")
            if self.ready_seen == self.drop_at_ready:
                # A failed statement is a different test from a lost acknowledgement;
                # the event says which one happened.
                outcome = " (it held an ErrorResponse)" if self.discarded_error else ""
                self.proxy._events.append(
                    f"connection {self.number}: drop_reply_to {self.drop_marker!r} cut the "
                    f"connection after the server's ReadyForQuery, dropping {self.discarded} "
                    f"bytes of reply{outcome}"
                )
                return bytes(out), True
        return bytes(out), False


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of a server's Unix socket that breaks the
    connection at moments a test chooses.

    Clients connect with ``host=127.0.0.1 port=<proxy.port> sslmode=disable`` (see
    ``url``); the server still sees a Unix-socket client, so the cluster's "trust" rule
    for local connections applies. Faults are armed from the test thread while
    connections are live; each ``drop_*`` fault fires once, on whichever connection
    first sends a matching message, and is then disarmed. ``events`` says what fired.

    The proxy runs in the test's own process, so a client call that blocks the whole
    interpreter stalls it too: cancel a query with ``conn.cancel_safe()``, not
    ``conn.cancel()`` (libpq's old blocking cancel, which deadlocks here).
    """

    def __init__(self, socket_path: Path, *, reply_grace_s: float = 10.0) -> None:
        self.socket_path = socket_path
        self.reply_grace_s = reply_grace_s
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._events: list[str] = []
        self._links: set[_Link] = set()
        self._all_links: list[_Link] = []
        self._refusing = False
        self._closed = False
        self._count = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        # Wakes the accept loop for close(): closing a listening socket does not
        # interrupt a thread blocked on it.
        self._wake_read, self._wake_write = socket.socketpair()
        self._acceptor = threading.Thread(
            target=self._accept_loop, daemon=True, name=f"fault-proxy-{self.port}-accept"
        )
        self._acceptor.start()

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A libpq URL through the proxy."""
        return (
            f"postgresql://{quote(user, safe='')}@127.0.0.1:{self.port}/"
            f"{quote(dbname, safe='')}?sslmode=disable"
        )

    @property
    def events(self) -> list[str]:
        """What fired so far, oldest first (a copy)."""
        with self._lock:
            return list(self._events)

    def drop_reply_to(self, marker: bytes) -> None:
        """Let the next client message containing ``marker`` reach the server and be
        carried out, then cut the connection instead of passing the reply on: the
        client sees a lost connection after the server committed.

        The reply is the server's answer up to the ReadyForQuery that ends the marked
        message's batch (its Sync, or the simple Query itself). It is read and thrown
        away, and the connection cut when that ReadyForQuery arrives, so a transaction
        committed by that Sync has committed. Answers to earlier batches pass through.

        The marker is looked for in the raw message: SQL text in Parse or Query,
        parameter values in Bind. A statement psycopg has prepared (after
        ``prepare_threshold`` executions) is sent without its text, so put markers for
        repeated statements in a parameter."""
        self._arm(_Fault("drop_reply_to", marker))

    def drop_when_sent(self, marker: bytes) -> None:
        """Cut the connection when the next client message containing ``marker`` is
        seen, before forwarding it: the server never sees it."""
        self._arm(_Fault("drop_when_sent", marker))

    def refuse_connections(self, refuse: bool = True) -> None:
        """While set, new connections are accepted and closed at once (the server is
        unreachable); open ones carry on."""
        with self._lock:
            self._refusing = refuse
            self._events.append(f"refuse_connections({refuse})")

    def cut_all(self) -> None:
        """Close every open connection now (the network went away)."""
        with self._lock:
            links = list(self._links)
            self._events.append(f"cut_all closed {len(links)} connection(s)")
        for link in links:
            link.cut()

    def close(self) -> None:
        """Stop listening, close every connection and wait for every thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        self._acceptor.join(timeout=10)
        with self._lock:
            links = list(self._all_links)
        for link in links:
            link.cut()
        for link in links:
            for thread in link.threads:
                thread.join(timeout=10)
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _arm(self, fault: _Fault) -> None:
        if not fault.marker:
            raise ValueError("an empty marker would match every message")
        with self._lock:
            self._faults.append(fault)

    def _record(self, event: str) -> None:
        """Record what fired, before the sockets close: a test that sees the lost
        connection finds the event already there. (Parsers, which hold the lock, append
        to ``_events`` themselves.)"""
        with self._lock:
            self._events.append(event)

    def _take_fault(self, content: bytes, *, reply_pending: int | None) -> _Fault | None:
        """The first armed fault whose marker is in ``content``, disarmed; lock held."""
        for fault in self._faults:
            if fault.marker in content:
                if fault.kind == "drop_reply_to" and reply_pending is not None:
                    continue  # one lost reply per connection; leave it for another
                self._faults.remove(fault)
                return fault
        return None

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_read in ready:
                    return
                with contextlib.suppress(OSError):
                    client, _ = self._listener.accept()
                    self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        with self._lock:
            self._count += 1
            number = self._count
            refusing = self._refusing or self._closed
            if refusing:
                self._events.append(f"connection {number}: refused")
        if refusing:
            client.close()
            return
        # Replies pass through in the small pieces the server sends them in.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.connect(str(self.socket_path))
        except OSError as exc:
            self._record(f"connection {number}: server unreachable ({exc.strerror or exc})")
            server.close()
            client.close()
            return
        link = _Link(self, number, client, server)
        with self._lock:
            self._links.add(link)
            self._all_links.append(link)
        link.start()


# --- fixtures ------------------------------------------------------------------------


@contextlib.contextmanager
def running_cluster(
    folder: Path, settings: Mapping[str, str] | None = None
) -> Iterator[ServerCluster]:
    """A started ``ServerCluster`` in ``folder``, stopped (or killed) afterwards."""
    cluster = ServerCluster(folder, settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


# Imported by a test module, these are found by their names (server_cluster,
# fault_proxy); the functions' own names differ so the import does not shadow them:
#     from sync_harness import fault_proxy_fixture, server_cluster_fixture  # noqa: F401
# For a cluster shared by a module, wrap running_cluster() in a fixture of that scope
# with a folder from tmp_path_factory.


@pytest.fixture(name="server_cluster")
def server_cluster_fixture(tmp_path: Path) -> Iterator[ServerCluster]:
    """A central server of the test's own, which the test may stop, restart or kill."""
    with running_cluster(tmp_path / "server") as cluster:
        yield cluster


@pytest.fixture(name="fault_proxy")
def fault_proxy_fixture(server_cluster: ServerCluster) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of ``server_cluster``."""
    with FaultProxy(server_cluster.socket_path) as proxy:
        yield proxy


__all__ = [
    "FaultProxy",
    "ServerCluster",
    "SUPERUSER",
    "fault_proxy_fixture",
    "running_cluster",
    "server_cluster_fixture",
]
