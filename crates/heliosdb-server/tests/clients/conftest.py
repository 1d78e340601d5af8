"""A `heliosdb-lite serve` process for the client tests, on free loopback ports.

The binary comes from HELIOSDB_BIN (scripts/test-server-clients builds it). Each test
module gets its own server and database directory; the server is stopped with SIGTERM, as
a service manager would, and must exit cleanly.
"""

import os
import re
import signal
import subprocess

import pytest

PASSWORD = "client tests pw"


class Server:
    """Addresses of a running server."""

    def __init__(self, proc, pg_port, http_port):
        self.proc = proc
        self.pg_port = pg_port
        self.http_port = http_port

    def conninfo(self, password=PASSWORD, user="heliosdb"):
        return (
            f"host=127.0.0.1 port={self.pg_port} user={user} dbname=heliosdb "
            f"password='{password}' connect_timeout=5"
        )

    def url(self, user="heliosdb"):
        return f"postgresql://{user}@127.0.0.1:{self.pg_port}/heliosdb"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    binary = os.environ.get("HELIOSDB_BIN")
    if not binary or not os.path.exists(binary):
        pytest.fail("HELIOSDB_BIN must name the heliosdb-lite binary (scripts/test-server-clients sets it)")
    home = tmp_path_factory.mktemp("server")
    config = home / "heliosdb.toml"
    config.write_text(
        f'[database]\npath = "{home / "db"}"\n\n'
        '[server]\nhost = "127.0.0.1"\nport = 0\npg_port = 0\nstatement_timeout_secs = 10\n'
    )
    env = dict(os.environ, HELIOSDB_PASSWORD=PASSWORD)
    env.pop("HELIOSDB_DATA_DIR", None)
    proc = subprocess.Popen(
        [binary, "serve", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    first = proc.stderr.readline()
    ports = re.findall(r"127\.0\.0\.1:(\d+)", first)
    if len(ports) != 2:
        proc.kill()
        pytest.fail(f"the server did not start: {first!r}")
    yield Server(proc, int(ports[0]), int(ports[1]))
    proc.send_signal(signal.SIGTERM)
    try:
        rest = proc.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the server did not stop within 20 s of SIGTERM")
    assert proc.returncode == 0, rest
    assert "stopped cleanly" in rest, rest
