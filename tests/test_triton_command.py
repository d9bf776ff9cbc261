"""`switchboard turn-server`'s own checks, which need no server: the environment fix for
PyTriton's tritonserver, and clear refusals (busy port, same port twice)."""

import os
import socket

from triton_server_fixture import free_port

from pipeline.cli import main
from pipeline.triton.environment import prepare_triton_environment, python_libdir


def test_libdir_goes_first_in_ld_library_path_once():
    libdir = python_libdir()
    environ = {"LD_LIBRARY_PATH": os.pathsep.join(["/opt/a", libdir, "/opt/b"])}
    prepare_triton_environment(environ)
    prepare_triton_environment(environ)
    assert environ["LD_LIBRARY_PATH"].split(os.pathsep) == [libdir, "/opt/a", "/opt/b"]
    empty: dict[str, str] = {}
    prepare_triton_environment(empty)
    assert empty["LD_LIBRARY_PATH"] == libdir


def test_a_busy_port_is_refused_at_once(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["turn-server", "--host", "127.0.0.1", "--device", "cpu", "--grpc-port", str(port)]
        argv += ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
        assert main(argv) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_three_ports_must_differ(capsys):
    assert main(["turn-server", "--grpc-port", "9001", "--http-port", "9001"]) == 2
    assert "ports must differ" in capsys.readouterr().err
