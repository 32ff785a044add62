"""Daemon-wide endpoints: ping, version negotiation, swarm and plugins on a daemon with neither."""

import docker
import pytest


def test_ping_headers_and_versions(client):
    res = client.api._get(client.api.base_url + "/_ping")
    assert res.text == "OK"
    assert res.headers["Api-Version"] == "1.44"
    assert res.headers["Ostype"] == "linux"
    assert res.headers["Server"].startswith("Berth/")
    assert res.headers["Swarm"] == "inactive"
    assert res.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    for version in ("1.24", "1.30", "1.41", "1.44"):
        c = docker.from_env(version=version)
        assert c.version()["ApiVersion"] == "1.44"
        assert c.ping() is True
        c.close()


def test_errors_are_message_bodies(client):
    res = client.api._get(client.api._url("/containers/{0}/json", "no-such-container"))
    assert res.status_code == 404
    assert res.json() == {"message": "No such container: no-such-container"}
    # What berthd does not serve is a 501 naming it, with the headers of every response.
    res = client.api._get(client.api.base_url + "/v1.44/no/such/route")
    assert res.status_code == 501
    assert res.json() == {"message": "berthd does not implement GET /no/such/route"}
    assert res.headers["Api-Version"] == "1.44"


MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
           '"docker swarm join" to connect this node to swarm and try again.')
NOT_PART = "This node is not part of a swarm"


@pytest.mark.parametrize("path", ["/nodes", "/services", "/tasks", "/secrets", "/configs",
                                  "/nodes/x", "/services/x", "/tasks/x", "/secrets/x",
                                  "/configs/x", "/swarm/unlockkey"])
def test_swarm_endpoints_without_a_swarm(client, path):
    res = client.api._get(client.api._url(path))
    assert res.status_code == 503, path
    assert res.json() == {"message": MANAGER}, path


def test_swarm_inspect_and_leave(client):
    res = client.api._get(client.api._url("/swarm"))
    assert res.status_code == 503
    assert res.json() == {"message": MANAGER}
    res = client.api._post(client.api._url("/swarm/leave"))
    assert res.status_code == 503
    assert res.json() == {"message": NOT_PART}
    # Clients and harnesses count a forced leave's 503 as success.
    assert client.swarm.leave(force=True) is True
    with pytest.raises(docker.errors.APIError) as e:
        client.services.list()
    assert e.value.response.status_code == 503
    assert client.info()["Swarm"]["LocalNodeState"] == "inactive"


def test_plugins_as_a_daemon_without_any(client):
    assert client.plugins.list() == []
    for plugin in ("vieux/sshfs:latest", "nosuch"):
        with pytest.raises(docker.errors.NotFound):
            client.plugins.get(plugin)
        res = client.api._post(client.api._url("/plugins/{0}/enable", plugin))
        assert res.status_code == 404, plugin
        res = client.api._delete(client.api._url("/plugins/{0}", plugin))
        assert res.status_code == 404, plugin
    res = client.api._post(client.api._url("/plugins/create"), params={"name": "x/y"},
                           data=b"", headers={"Content-Type": "application/x-tar"})
    # A clear refusal naming why, not 501: berthd has no plugin runtime to create it in.
    assert res.status_code == 400
    assert "no managed plugins" in res.json()["message"]
