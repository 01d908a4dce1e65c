"""The fault-injection harness does what sync tests will rely on: each fault loses
exactly what it says (a reply after the commit, a message before the server saw it, a
whole connection), and the central server keeps committed data across a restart and a
kill. Against a real PostgreSQL, through real psycopg connections."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

# The fixtures are used by their names, server_cluster and fault_proxy.
from sync_harness import (  # noqa: F401
    FaultProxy,
    ServerCluster,
    fault_proxy_fixture,
    running_cluster,
    server_cluster_fixture,
)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerCluster]:
    """One server for the tests that only break connections: creating a cluster takes
    about a second, and those tests leave the server itself alone."""
    with running_cluster(tmp_path_factory.mktemp("shared") / "server") as cluster:
        yield cluster


@pytest.fixture
def database(shared_server: ServerCluster) -> Iterator[str]:
    """A fresh database on the shared server, dropped afterwards."""
    name = f"sync_{uuid.uuid4().hex[:12]}"
    shared_server.create_database(name)
    yield name
    with psycopg.connect(shared_server.libpq_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def proxy(shared_server: ServerCluster) -> Iterator[FaultProxy]:
    with FaultProxy(shared_server.socket_path) as fault_proxy:
        yield fault_proxy


def _rows(cluster: ServerCluster, dbname: str, query: str) -> list[tuple]:
    """What the server really holds, asked over its socket rather than the proxy."""
    with psycopg.connect(cluster.libpq_url(dbname)) as conn:
        return conn.execute(query).fetchall()


def test_a_plain_query_goes_through(proxy: FaultProxy, database: str) -> None:
    with psycopg.connect(proxy.url(database), connect_timeout=3) as conn:
        assert conn.execute("SELECT 40 + %s", [2]).fetchone() == (42,)
    assert proxy.events == []


def test_a_lost_reply_after_the_commit(
    shared_server: ServerCluster, proxy: FaultProxy, database: str
) -> None:
    with psycopg.connect(proxy.url(database), autocommit=True) as conn:
        conn.execute("SELECT 1")  # replies before the marked message still arrive
        proxy.drop_reply_to(b"marker_xyz")
        with pytest.raises(psycopg.OperationalError):
            # No parameters: one simple-protocol Query message with both statements.
            conn.execute("CREATE TABLE t(x int); INSERT INTO t SELECT 1 /* marker_xyz */")
    assert _rows(shared_server, database, "SELECT x FROM t") == [(1,)]
    assert any("cut the connection after the server's ReadyForQuery" in e for e in proxy.events)


def test_a_lost_reply_to_a_parameter(
    shared_server: ServerCluster, proxy: FaultProxy, database: str
) -> None:
    """The marker in a bound parameter (extended protocol: Parse, Bind, Execute, Sync)."""
    with psycopg.connect(proxy.url(database), autocommit=True) as conn:
        conn.execute("CREATE TABLE t(x text)")
        proxy.drop_reply_to(b"marker_param")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("INSERT INTO t VALUES (%s)", ["marker_param"])
    assert _rows(shared_server, database, "SELECT x FROM t") == [("marker_param",)]
    # Fired once: the next connection is left alone.
    with psycopg.connect(proxy.url(database), autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (%s)", ["marker_param"])
    assert _rows(shared_server, database, "SELECT count(*) FROM t") == [(2,)]


def test_a_message_lost_before_the_server_saw_it(
    shared_server: ServerCluster, proxy: FaultProxy, database: str
) -> None:
    with psycopg.connect(proxy.url(database), autocommit=True) as conn:
        conn.execute("CREATE TABLE t(x int)")
        proxy.drop_when_sent(b"marker_xyz")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("INSERT INTO t SELECT 1 /* marker_xyz */")
    assert _rows(shared_server, database, "SELECT count(*) FROM t") == [(0,)]
    assert any("before forwarding" in e for e in proxy.events)


def test_refused_connections_fail_fast(proxy: FaultProxy, database: str) -> None:
    proxy.refuse_connections(True)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(proxy.url(database), connect_timeout=3)
    assert time.monotonic() - started < 2
    proxy.refuse_connections(False)
    with psycopg.connect(proxy.url(database), connect_timeout=3) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cut_all_breaks_every_open_connection(proxy: FaultProxy, database: str) -> None:
    first = psycopg.connect(proxy.url(database), autocommit=True)
    second = psycopg.connect(proxy.url(database), autocommit=True)
    try:
        proxy.cut_all()
        for conn in (first, second):
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
    finally:
        first.close()
        second.close()
    assert "cut_all closed 2 connection(s)" in proxy.events


# The server's own faults, on a server of the test's own (the harness's fixtures).


def test_a_restart_keeps_committed_data(
    server_cluster: ServerCluster, fault_proxy: FaultProxy
) -> None:
    url = server_cluster.create_database("school")
    socket_path = server_cluster.socket_path
    with psycopg.connect(fault_proxy.url("school"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT generate_series(1, 100) AS x")
        server_cluster.restart()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")  # a fast shutdown ends open sessions
    assert server_cluster.socket_path == socket_path
    with psycopg.connect(fault_proxy.url("school")) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (5050,)


def test_a_killed_server_recovers_committed_data(
    server_cluster: ServerCluster, fault_proxy: FaultProxy
) -> None:
    with psycopg.connect(fault_proxy.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE t(x int)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
        server_cluster.kill()
        assert not server_cluster.running
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(fault_proxy.url(), connect_timeout=3)
    assert any("server unreachable" in e for e in fault_proxy.events)
    server_cluster.start()
    assert "not properly shut down" in server_cluster.log_path.read_text(encoding="utf-8")
    with psycopg.connect(fault_proxy.url()) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1000,)
