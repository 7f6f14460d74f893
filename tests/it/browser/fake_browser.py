#!/usr/bin/env python3
"""A scripted browser for awsx's browser-login tests, run by awsx as $BROWSER URL: opens the
authorize URL, presses the consent page's button (TEST_BROWSER_ACTION: allow or deny),
follows the redirect to awsx's loopback listener (with another `state` when
TEST_BROWSER_TAMPER_STATE is set, as a forged redirect would) and writes what it saw to
TEST_BROWSER_OUT."""

import html.parser
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ConsentForm(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields, self.buttons, self.action = {}, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a["value"]
        if tag == "button":
            self.buttons[a["id"]] = (a["name"], a["value"])
        if tag == "select":
            self.select = a["name"]
        if tag == "option":
            # A select submits its first option unless another is chosen.
            self.fields.setdefault(self.select, a["value"])


def main():
    url = sys.argv[1]
    result = common.loopback_facts(common.redirect_of(url))
    try:
        opener = urllib.request.build_opener(NoRedirect)
        with opener.open(url) as r:
            form = ConsentForm()
            form.feed(r.read().decode())
        name, value = form.buttons[os.environ["TEST_BROWSER_ACTION"]]
        body = urllib.parse.urlencode(dict(form.fields, **{name: value})).encode()
        target = urllib.parse.urljoin(url, form.action)
        try:
            opener.open(target, data=body)
            raise AssertionError("the consent page did not redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302, e
            location = e.headers["Location"]
        if os.environ.get("TEST_BROWSER_TAMPER_STATE"):
            parts = urllib.parse.urlsplit(location)
            query = [(k, "forged" if k == "state" else v) for k, v in urllib.parse.parse_qsl(parts.query)]
            location = parts._replace(query=urllib.parse.urlencode(query)).geturl()
        with urllib.request.urlopen(location) as r:
            result["callback_status"] = r.status
            result["page"] = r.read().decode()
    except Exception as e:  # the Rust test shows it
        result["error"] = repr(e)
    common.write_result(result)


main()
