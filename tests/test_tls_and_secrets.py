"""TLS settings pass through from a server's URL to libpq, and a URL's password never
shows in output, logs or errors. The "server" is a socket on a loopback port this test
opens: it answers a client's TLS request with yes, so libpq goes on to check the
certificate settings the URL gave it — and says so."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from app.cli import main

PASSWORD = "S3cret-Pw-4242"


@pytest.fixture
def tls_port():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(8)  # the SSLRequest
                conn.sendall(b"S")  # willing: the client now sets up TLS as told
                conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_a_servers_tls_settings_reach_libpq_and_its_password_stays_secret(
    tls_port, capsys, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "no-such-root.crt"
    url = (f"postgresql://rollbook:{PASSWORD}@127.0.0.1:{tls_port}/school"
           f"?sslmode=verify-full&sslrootcert={root}")  # fmt: skip
    code, out, err = _run(capsys, ["--database-url", url, "students", "list"])
    assert code == 2 and err.count("\n") == 1
    assert "root certificate file" in err and str(root) in err  # verify-full, as asked
    assert "127.0.0.1" in err
    for shown in (out, err, caplog.text):
        assert PASSWORD not in shown


def test_the_sync_servers_password_stays_secret_when_it_fails(db, tls_port, capsys, caplog,
                                                              tmp_path):  # fmt: skip
    caplog.set_level(logging.DEBUG)
    url = (f"postgresql://rollbook:{PASSWORD}@127.0.0.1:{tls_port}/school"
           f"?sslmode=verify-full&sslrootcert={tmp_path / 'none.crt'}")  # fmt: skip
    code, out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST", "sync",
                                   "--once", "--url", url, "--device", "desk"])  # fmt: skip
    assert code == 2 and "root certificate file" in err
    for shown in (out, err, caplog.text):
        assert PASSWORD not in shown
