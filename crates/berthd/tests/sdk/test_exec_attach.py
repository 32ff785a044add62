"""Exec and attach streams as the SDK reads them: framing by the start request, attach logs."""

import socket

import docker
import pytest


def running(client, image, **kw):
    return client.containers.run(image, ["sleep", "1000"], detach=True, **kw)


def test_exec_run_demuxes_stdout_and_stderr(client, image):
    c = running(client, image)
    res = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 4"], demux=True)
    assert res.exit_code == 4
    assert res.output == (b"out\n", b"err\n")


def test_the_start_request_decides_the_framing(client, image):
    c = running(client, image)
    # Created with a tty, started without one: dockerd frames the stream (the start wins).
    e = client.api.exec_create(c.id, ["sh", "-c", "echo framed"], tty=True)
    out = client.api.exec_start(e["Id"], tty=False, demux=True)
    assert out == (b"framed\r\n", None)
    # Created without a tty, started with one: raw bytes.
    e = client.api.exec_create(c.id, ["echo", "raw"], tty=False)
    assert client.api.exec_start(e["Id"], tty=True) == b"raw\n"


def test_exec_content_types(client, image):
    c = running(client, image)
    for tty, expected in ((False, "application/vnd.docker.multiplexed-stream"),
                          (True, "application/vnd.docker.raw-stream")):
        e = client.api.exec_create(c.id, ["true"], tty=tty)
        res = client.api._post_json(
            client.api._url("/exec/{0}/start", e["Id"]), data={"Tty": tty}, stream=True,
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        )
        assert res.headers["Content-Type"] == expected
        res.close()


def test_exec_body_names_are_case_insensitive(client, image):
    c = running(client, image)
    res = client.api._post_json(
        client.api._url("/containers/{0}/exec", c.id),
        data={"cmd": ["sh", "-c", "echo $V"], "attachstdout": True, "env": ["V=ok"],
              "detachKeys": "ctrl-x"},
    )
    client.api._raise_for_status(res)
    exec_id = client.api._result(res, True)["Id"]
    assert client.api.exec_inspect(exec_id)["DetachKeys"] == "ctrl-x"
    res = client.api._post_json(client.api._url("/exec/{0}/start", exec_id),
                                data={"detach": False, "tty": False}, stream=True,
                                headers={"Connection": "Upgrade", "Upgrade": "tcp"})
    assert client.api._read_from_socket(res, stream=False, tty=False) == b"ok\n"


def test_attach_logs_without_stream_returns(client, image):
    c = client.containers.run(image, ["sh", "-c", "echo one; echo two; sleep 1000"], detach=True)
    deadline = 100
    while c.logs() != b"one\ntwo\n" and deadline:
        deadline -= 1
        c.reload()
    client.api.timeout = 20
    out = c.attach(stdout=True, stderr=True, stream=False, logs=True)
    assert out == b"one\ntwo\n"
    # Neither logs nor stream: nothing, and the call returns.
    assert c.attach(stdout=True, stderr=True, stream=False, logs=False) == b""


def test_attach_socket_of_a_tty_container(client, image):
    c = client.containers.run(image, ["cat"], detach=True, tty=True, stdin_open=True)
    sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    raw = sock._sock if hasattr(sock, "_sock") else sock
    raw.settimeout(10)
    raw.sendall(b"ping\n")
    got = b""
    while b"ping" not in got:
        chunk = raw.recv(100)
        if not chunk:
            break
        got += chunk
    assert b"ping" in got
    raw.shutdown(socket.SHUT_RDWR)
    raw.close()


def test_attach_right_after_a_fast_start_ends_cleanly(client, image):
    # The container may exit before its monitor takes the attach: the stream just ends.
    for _ in range(10):
        c = client.containers.create(image, ["echo", "hi"])
        c.start()
        out = b"".join(c.attach(stdout=True, stderr=True, stream=True, logs=True))
        assert b"Error" not in out, out
        assert out.startswith(b"hi\n"), out
        c.remove(force=True)
