"""The SSRF guard's pure part, shared by webhooks and register-url: each caller passes its allowed networks."""

import pytest

from apps.core import network


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.5", "169.254.169.254", "::1", "fd00:ec2::254", "::ffff:10.0.0.1",
     "64:ff9b::a00:1", "224.0.0.1", "100.64.0.1"],
)  # fmt: skip
def test_internal_addresses_are_refused_unless_their_network_is_allowed(address):
    assert not network.address_allowed(address)
    assert network.address_allowed(address, allowed_networks=["0.0.0.0/0", "::/0"])


def test_public_addresses_pass_and_allowed_networks_are_per_caller():
    assert network.address_allowed("93.184.216.34") and network.address_allowed("2606:4700::1111")
    assert network.address_allowed("127.0.0.1", allowed_networks=["127.0.0.0/8"])
    assert not network.address_allowed("10.0.0.1", allowed_networks=["127.0.0.0/8"])


def test_url_parse_takes_the_callers_schemes():
    parsed = network.url_parse("https://example.com/a.png?x=1")
    assert (parsed.scheme, parsed.host, parsed.port) == ("https", "example.com", 443)
    with pytest.raises(network.UrlSyntaxError, match="Only https://"):
        network.url_parse("http://example.com/a.png", schemes=("https",))
    for bad in ("", "https://user:pw@example.com/", "https://example.com/#x", "https:///nohost", "https://a b/"):
        with pytest.raises(network.UrlSyntaxError):
            network.url_parse(bad)
