"""Containers through the SDK's high-level API: run, kill, inspect, commit, diff, restart."""

import io
import json
import tarfile
import time

import docker
import pytest
from docker.types import LogConfig


def test_run_returns_the_output(client, image):
    # The SDK reads logs only for drivers it knows: LogConfig.Type must be the daemon default.
    out = client.containers.run(image, ["sh", "-c", "echo hello; echo err >&2"], stderr=True)
    assert out == b"hello\nerr\n"
    c = client.containers.create(image, "true")
    assert c.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"


def test_unknown_log_driver_is_named_as_dockerd_does(client, image):
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.run(image, "true", log_config=LogConfig(type="nosuch"))
    assert "logger: no log driver named 'nosuch' is registered" in str(e.value)


def test_kill_returns_after_the_exit(client, image):
    for _ in range(5):
        c = client.containers.run(image, ["sleep", "1000"], detach=True)
        c.kill()
        # No 409 "container is running": the kill waited for the exit.
        c.remove()


def test_inspect_has_isolation_stop_timeout_runtime(client, image, name):
    c = client.containers.get(client.api.create_container(image, "true", name=name(), stop_timeout=7)["Id"])
    assert c.attrs["Config"]["StopTimeout"] == 7
    assert c.attrs["HostConfig"]["Isolation"] == ""
    assert c.attrs["HostConfig"]["Runtime"] == client.info()["DefaultRuntime"]
    plain = client.containers.create(image, "true")
    assert "StopTimeout" not in plain.attrs["Config"]


def test_commit_of_a_container_that_just_exited(client, image, name):
    for i in range(10):
        c = client.containers.run(image, ["sh", "-c", f"echo {i} > /f"], detach=True)
        # Right at the exit: the engine may still count it as running when the commit pauses.
        img = c.commit(repository=name("img"), tag=str(i))
        c.wait()
        assert img.id
        client.images.remove(img.id)


def test_diff_hides_the_init_layer(client, image):
    c = client.containers.run(image, ["sh", "-c", "touch /made"], detach=True)
    c.wait()
    changes = {d["Path"] for d in c.diff()}
    assert changes == {"/made"}, changes


def test_commit_leaves_out_the_init_layer(client, image, name):
    c = client.containers.run(image, ["sh", "-c", "touch /made"], detach=True)
    c.wait()
    img = c.commit(repository=name("committed"), tag="x")
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(img.save())))
    manifest = json.load(archive.extractfile("manifest.json"))
    top = tarfile.open(fileobj=archive.extractfile(manifest[0]["Layers"][-1]))
    names = {m.name.rstrip("/") for m in top.getmembers()}
    assert names == {"made"}, names


def test_restarting_state_and_409_on_remove(client, image):
    c = client.containers.run(
        image, ["sh", "-c", "exit 3"], detach=True, restart_policy={"Name": "always"}
    )
    deadline = time.time() + 30
    seen = set()
    while time.time() < deadline:
        c.reload()
        seen.add(c.status)
        if c.status == "restarting":
            assert c.attrs["State"]["Restarting"] is True
            break
        time.sleep(0.02)
    assert "restarting" in seen, seen
    with pytest.raises(docker.errors.APIError) as e:
        c.remove()
    assert e.value.response.status_code == 409
    assert "restarting" in str(e.value)
    # A stop cancels the pending restart: it stays exited.
    c.stop(timeout=1)
    time.sleep(1)
    c.reload()
    assert c.status == "exited", c.attrs["State"]
    count = c.attrs["RestartCount"]
    time.sleep(0.5)
    c.reload()
    assert (c.status, c.attrs["RestartCount"]) == ("exited", count)
    c.remove()


def test_null_is_absent(client, image):
    # Go's decoder treats null as absent; the SDK sends nulls inside nested objects.
    body = {
        "Image": image,
        "Cmd": ["true"],
        "Healthcheck": {"Test": ["CMD", "true"], "StartPeriod": None, "Interval": None},
        "Labels": None,
        "HostConfig": {"Binds": None, "LogConfig": {"Type": None, "Config": None}},
    }
    res = client.api._post_json(client.api._url("/containers/create"), data=body)
    client.api._raise_for_status(res)
    assert client.api._result(res, True)["Id"]


def test_bodies_match_names_case_insensitively(client, image):
    res = client.api._post_json(
        client.api._url("/containers/create"),
        data={"image": image, "cmd": ["sh", "-c", "echo $X"], "env": ["X=lower"], "tty": False},
    )
    client.api._raise_for_status(res)
    c = client.containers.get(client.api._result(res, True)["Id"])
    assert c.attrs["Config"]["Env"][0] == "X=lower"
    c.start()
    c.wait()
    assert c.logs() == b"lower\n"


def test_stats_report_networks(client, image):
    c = client.containers.run(image, ["sleep", "1000"], detach=True)
    stats = c.stats(stream=False)
    eth0 = stats["networks"]["eth0"]
    for key in ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"):
        assert isinstance(eth0[key], int), key
    none = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="none")
    assert "networks" not in none.stats(stream=False)
    host = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="host")
    assert "networks" not in host.stats(stream=False)
    # A container sharing another's namespace reports the owner's interfaces.
    joined = client.containers.run(image, ["sleep", "1000"], detach=True,
                                   network_mode=f"container:{c.id}")
    assert list(joined.stats(stream=False)["networks"]) == ["eth0"]
