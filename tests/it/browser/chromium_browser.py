#!/usr/bin/env python3
"""A real browser for awsx's browser-login tests: run by awsx as $BROWSER URL, it starts
Debian's Chromium headless on the authorize URL, drives it through the DevTools protocol
(python's websocket-client): waits for the consent page, clicks its button
(TEST_BROWSER_ACTION: allow or deny), waits until Chromium has followed the redirect to
awsx's loopback listener and shows its page, writes what it saw to TEST_BROWSER_OUT, and
closes Chromium. Its profile lives in a temp dir outside the test's HOME, removed after."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

DEADLINE = 60  # seconds for each step; a step that never happens is the failure reported


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=DEADLINE)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg["result"]

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r["result"].get("value")

    def wait_for(self, expression, what):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                value = self.eval(expression)
                if value:
                    return value
            except RuntimeError:
                pass  # mid-navigation: the context is being replaced
            time.sleep(0.1)
        raise TimeoutError("Chromium never showed " + what + "; at " + str(self.eval("location.href")))


def devtools_port(profile, chromium):
    end = time.monotonic() + DEADLINE
    path = os.path.join(profile, "DevToolsActivePort")
    while time.monotonic() < end:
        if chromium.poll() is not None:
            raise RuntimeError("Chromium exited with %s" % chromium.returncode)
        if os.path.exists(path):
            with open(path) as f:
                first = f.readline().strip()
            if first:
                return int(first)
        time.sleep(0.1)
    raise TimeoutError("Chromium never opened its DevTools port")


def main():
    url = sys.argv[1]
    redirect = common.redirect_of(url)
    result = common.loopback_facts(redirect)
    profile = tempfile.mkdtemp(prefix="awsx-chromium-")
    chromium = subprocess.Popen(
        [
            shutil.which("chromium") or "chromium",
            "--headless",
            "--no-sandbox",  # the tests run as root in CI containers
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile,
            "--remote-debugging-port=0",
            url,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = devtools_port(profile, chromium)
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port) as r:
            targets = json.load(r)
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        button = "#" + os.environ["TEST_BROWSER_ACTION"]
        page.wait_for("document.querySelector(%s) !== null" % json.dumps(button), "the consent page")
        result["consent_title"] = page.eval("document.title")
        page.eval("document.querySelector(%s).click()" % json.dumps(button))
        loaded = "location.href.startsWith(%s) && document.readyState === 'complete' && document.body.innerText.includes('awsx')"
        page.wait_for(loaded % json.dumps(redirect), "awsx's callback page")
        result["callback_url_path"] = page.eval("location.pathname")
        result["page"] = page.eval("document.body.innerText")
        result["browser"] = "chromium"
        try:
            page.call("Browser.close")
        except Exception:
            pass
    except Exception as e:  # the Rust test shows it
        result["error"] = repr(e)
    finally:
        try:
            chromium.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chromium.kill()
            chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)
    common.write_result(result)


main()
