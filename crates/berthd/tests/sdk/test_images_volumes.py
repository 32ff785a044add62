"""Images, volumes and the archive endpoints through the SDK."""

import io
import tarfile

import docker
import pytest


def tar_of(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_tar(stream):
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as t:
        return {m.name: (t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


@pytest.mark.parametrize("running", [False, True])
def test_archive_reaches_into_volumes(client, image, name, running):
    vol = client.volumes.create(name("vol"))
    c = client.containers.create(image, ["sleep", "1000"],
                                 volumes={vol.name: {"bind": "/data", "mode": "rw"}})
    if running:
        c.start()
    assert c.put_archive("/data", tar_of("in.txt", b"into the volume\n"))
    stream, stat = c.get_archive("/data/in.txt")
    assert stat["name"] == "in.txt" and stat["size"] == 16
    assert read_tar(stream)["in.txt"] == b"into the volume\n"
    # The file is in the volume itself, seen by another container.
    out = client.containers.run(image, ["cat", "/v/in.txt"], remove=True,
                                volumes={vol.name: {"bind": "/v", "mode": "ro"}})
    assert out == b"into the volume\n"
    c.remove(force=True)


def test_archive_into_a_read_only_volume_is_refused(client, image, name):
    vol = client.volumes.create(name("ro"))
    c = client.containers.create(image, ["true"],
                                 volumes={vol.name: {"bind": "/ro", "mode": "ro"}})
    with pytest.raises(docker.errors.APIError) as e:
        c.put_archive("/ro", tar_of("x", b"x"))
    assert e.value.response.status_code == 403


def test_load_errors_come_in_the_stream(client):
    with pytest.raises(docker.errors.ImageLoadError):
        client.images.load(b"this is not a tar archive")


def test_unnamed_volumes_are_anonymous(client, name):
    anon = client.volumes.create()
    assert anon.attrs["Labels"] == {"com.docker.volume.anonymous": ""}
    named = client.volumes.create(name("keep"))
    # Without all=true, prune removes anonymous volumes only (API >= 1.42).
    pruned = client.volumes.prune()
    assert anon.name in pruned["VolumesDeleted"]
    assert named.name not in pruned["VolumesDeleted"]
    named.remove()
