"""Fixtures of the Python SDK tests: a client of the berthd the Rust harness started
(DOCKER_HOST), its busybox image, unique names, and clean-up of what a test made."""

import itertools
import os

import docker
import pytest

_COUNTER = itertools.count()


@pytest.fixture
def client():
    c = docker.from_env(version="auto", timeout=60)
    yield c
    c.close()


@pytest.fixture
def image():
    return os.environ["BERTH_TEST_IMAGE"]


@pytest.fixture
def name(request):
    """A name unique across tests running in parallel on other daemons: pid and counter."""

    def make(tag="t"):
        return f"sdk-{tag}-{os.getpid()}-{next(_COUNTER)}"

    return make


@pytest.fixture(autouse=True)
def cleanup(client):
    """The daemon is this module's own: whatever a test leaves is removed after it."""
    yield
    for c in client.containers.list(all=True):
        c.remove(force=True, v=True)
    for n in client.networks.list():
        if n.name not in ("bridge", "host", "none"):
            n.remove()
    client.volumes.prune(filters={"all": "true"})
