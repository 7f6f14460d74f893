"""What both test browsers share: the test's instructions (from the environment awsx
passes on to $BROWSER), the loopback checks, and the result file the Rust test reads."""

import json
import os
import socket
import urllib.parse


def redirect_of(authorize_url):
    """The redirect URI (with the listener's port) the authorize URL carries."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize_url).query)
    return query["redirect_uri"][0]


def accepts(host, port):
    """Whether a TCP connection to host:port is accepted."""
    try:
        socket.create_connection((host, port), timeout=5).close()
        return True
    except OSError:
        return False


def loopback_facts(redirect_uri):
    """The listener, as seen while awsx waits: reachable on 127.0.0.1, not on 127.0.0.2
    (another loopback address, which a socket bound to 0.0.0.0 would accept)."""
    port = urllib.parse.urlsplit(redirect_uri).port
    return {
        "port": port,
        "redirect_uri": redirect_uri,
        "other_address_accepted": accepts("127.0.0.2", port),
    }


def write_result(result):
    out = os.environ["TEST_BROWSER_OUT"]
    with open(out + ".tmp", "w") as f:
        json.dump(result, f)
    os.rename(out + ".tmp", out)
