"""Networks and endpoints as the SDK sees them, from create on."""

import ipaddress
import os

import docker
import pytest
from docker.types import EndpointConfig, IPAMConfig, IPAMPool


def subnet(k):
    """The k-th /24 of this daemon's pool (BERTH_TEST_POOL); high k: automatic ones start low."""
    net = ipaddress.ip_network(os.environ["BERTH_TEST_POOL"])
    return list(net.subnets(new_prefix=24))[k]


def test_ipam_nulls_and_auxiliary_addresses(client, image, name):
    sub = subnet(12)
    hosts = list(sub.hosts())
    # IPAMPool sends "IPRange": null and "Gateway": null when they are not given.
    pool = IPAMPool(subnet=str(sub), aux_addresses={"router": str(hosts[1])})
    net = client.networks.create(name("net"), ipam=IPAMConfig(pool_configs=[pool]))
    cfg = net.attrs["IPAM"]["Config"][0]
    assert cfg["Subnet"] == str(sub)
    assert cfg["AuxiliaryAddresses"] == {"router": str(hosts[1])}
    # The auxiliary address is never handed out, nor a requested one outside the subnet.
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network=net.name)
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"] != str(hosts[1])
    bad = IPAMPool(subnet=str(subnet(14)), aux_addresses={"x": str(hosts[1])})
    with pytest.raises(docker.errors.APIError) as e:
        client.networks.create(name("bad"), ipam=IPAMConfig(pool_configs=[bad]))
    assert e.value.status_code == 400
    assert "invalid auxiliary address x" in str(e.value)


def test_names_with_spaces(client, image, name):
    net = client.networks.create(name("with space") + " x")
    assert client.networks.get(net.id).name == net.name
    # The host's bridge is not named after it: a container on it gets an address.
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network=net.name)
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
    with pytest.raises(docker.errors.APIError) as e:
        client.networks.create("  ")
    assert e.value.status_code == 400
    assert "invalid name: " in str(e.value)


def test_networks_listed_from_create_to_after_exit(client, image, name):
    sub = subnet(13)
    ip = str(list(sub.hosts())[9])
    net = client.networks.create(
        name("a"), ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=str(sub))])
    )
    other = client.networks.create(name("b"))
    mac = "02:42:ac:11:00:99"
    c = client.containers.create(
        image,
        ["sleep", "1000"],
        network=net.name,
        networking_config={
            net.name: EndpointConfig(
                version="1.44", aliases=["web", "w2"], ipv4_address=ip, mac_address=mac,
                driver_opt={"com.example.opt": "1"},
            )
        },
    )
    nets = c.attrs["NetworkSettings"]["Networks"]
    assert list(nets) == [net.name]
    ep = nets[net.name]
    assert ep["IPAMConfig"]["IPv4Address"] == ip
    # Up to API 1.44 dockerd adds the short id (and the hostname, the same here).
    assert ep["Aliases"] == ["web", "w2", c.id[:12]]
    assert ep["MacAddress"] == mac
    assert ep["DriverOpts"] == {"com.example.opt": "1"}
    # Stored as given until a start: the SDK sends no NetworkID.
    assert ep["NetworkID"] == ""
    assert ep["EndpointID"] == "" and ep["IPAddress"] == "" and ep["DNSNames"] is None
    # Connected while created: listed at once.
    other.connect(c, aliases=["o"])
    c.reload()
    assert set(c.attrs["NetworkSettings"]["Networks"]) == {net.name, other.name}
    c.start()
    c.reload()
    ep = c.attrs["NetworkSettings"]["Networks"][net.name]
    assert ep["IPAddress"] == ip
    assert ep["MacAddress"] == mac
    assert "web" in ep["Aliases"]
    assert ep["EndpointID"]
    assert ep["NetworkID"] == net.id
    assert ep["DNSNames"] == [c.name, "web", "w2", c.id[:12]]
    assert c.attrs["NetworkSettings"]["Networks"][other.name]["Aliases"][0] == "o"
    out = c.exec_run(["cat", "/sys/class/net/eth0/address"]).output
    assert out.strip() == mac.encode()
    # The aliases answer in the embedded DNS.
    peer = client.containers.run(image, ["sleep", "1000"], detach=True, network=net.name)
    res = peer.exec_run(["nslookup", "w2"])
    assert ip in res.output.decode(), res.output
    c.kill()
    c.wait()
    c.reload()
    nets = c.attrs["NetworkSettings"]["Networks"]
    assert set(nets) == {net.name, other.name}
    ep = nets[net.name]
    assert ep["IPAMConfig"]["IPv4Address"] == ip
    assert ep["NetworkID"] == net.id
    assert ep["DriverOpts"] == {"com.example.opt": "1"}
    assert ep["DNSNames"] == [c.name, "web", "w2", c.id[:12]]
    for key in ("EndpointID", "Gateway", "IPAddress", "IPv6Gateway", "GlobalIPv6Address",
                "MacAddress"):
        assert ep[key] == "", key
    assert ep["IPPrefixLen"] == 0 and ep["GlobalIPv6PrefixLen"] == 0
    # Started again, it gets its address back.
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"] == ip


def test_disconnect_from_network_mode_keeps_it(client, image, name):
    net = client.networks.create(name("m"))
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network=net.name)
    net.disconnect(c)
    c.reload()
    assert c.attrs["HostConfig"]["NetworkMode"] == net.name
    assert c.attrs["NetworkSettings"]["Networks"] == {}
    net.connect(c)
    c.reload()
    assert list(c.attrs["NetworkSettings"]["Networks"]) == [net.name]
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
    # Stopped and off every network, a start puts it back on its NetworkMode network.
    c.kill()
    c.wait()
    net.disconnect(c)
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"] == {}
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]


def test_deprecated_config_mac_address(client, image, name):
    net = client.networks.create(name("mac"))
    c = client.containers.create(image, ["sleep", "1000"], network=net.name,
                                 mac_address="02:42:ac:11:00:42")
    c.start()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"][net.name]["MacAddress"] == "02:42:ac:11:00:42"
    # Still shown container-wide, as dockerd fills it from the main network's endpoint.
    assert c.attrs["Config"]["MacAddress"] == "02:42:ac:11:00:42"
    out = c.exec_run(["cat", "/sys/class/net/eth0/address"]).output
    assert out.strip() == b"02:42:ac:11:00:42"
    resp = client.api.create_container(
        image, ["true"], mac_address="02:42:ac:11:00:43",
        host_config=client.api.create_host_config(network_mode=net.name),
    )
    assert resp["Warnings"] == [
        "The container-wide MacAddress field is now deprecated. "
        "It should be specified in EndpointsConfig instead."
    ]
    ep = client.api.inspect_container(resp["Id"])["NetworkSettings"]["Networks"][net.name]
    assert ep["MacAddress"] == "02:42:ac:11:00:43"
    # Given twice, the two must agree.
    with pytest.raises(docker.errors.APIError) as e:
        client.api.create_container(
            image, ["true"], mac_address="02:42:ac:11:00:44",
            host_config=client.api.create_host_config(network_mode=net.name),
            networking_config={"EndpointsConfig": {net.name: {"MacAddress": "02:42:ac:11:00:45"}}},
        )
    assert e.value.status_code == 400
    assert "must match the endpoint-specific MAC address" in str(e.value)


def test_remove_a_legacy_link(client, image, name):
    target = client.containers.run(image, ["sleep", "1000"], detach=True, name=name("db"))
    app = client.containers.run(image, ["sleep", "1000"], detach=True, name=name("app"),
                                links={target.name: "db"})
    assert app.attrs["HostConfig"]["Links"] == [f"/{target.name}:/{app.name}/db"]
    client.api.remove_container(f"/{app.name}/db", link=True)
    app.reload()
    assert not app.attrs["HostConfig"]["Links"]
    with pytest.raises(docker.errors.NotFound):
        client.api.remove_container(f"/{app.name}/db", link=True)
