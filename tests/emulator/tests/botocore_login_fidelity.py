"""botocore's console sign-in (`aws login`) machinery against awsx-emulator.

Run by the Rust test `boto3::botocore_login_provider_refreshes_against_the_emulator` with
AWS_ENDPOINT_URL_SIGNIN and AWS_ENDPOINT_URL_STS pointing at the emulator, EMULATOR_URL at
its base (for the control API), and a private HOME with empty AWS config files. It signs in
through the emulator's browser pages, exchanges the code with botocore's `signin` client and
its own DPoP header hook (what the AWS CLI v2's `aws login` does), writes the AWS CLI's cache
file, and lets botocore's LoginProvider refresh from it. Prints one `ok <check>` line per
check and a closing `N passed, 0 failed`; exits non-zero at the first failure.
"""

import base64
import hashlib
import html.parser
import json
import os
import textwrap
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.config
from awscrt.crypto import EC, ECExportFormat, ECType
from botocore import UNSIGNED
from botocore.credentials import _build_add_dpop_header_handler, _build_dpop_header
from botocore.exceptions import ClientError, LoginRefreshRequired

EMU = os.environ["EMULATOR_URL"]
REGION = "us-east-1"
SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
REDIRECT = "http://127.0.0.1:49153/oauth/callback"
ARN = "arn:aws:iam::100000000001:user/breakglass-alice"
passed = 0


def ok(name):
    global passed
    passed += 1
    print("ok " + name, flush=True)


def control(path):
    with urllib.request.urlopen(EMU + "/_emulator/" + path) as r:
        return json.loads(r.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ConsentForm(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields, self.buttons = {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a["value"]
        if tag == "button":
            self.buttons[a["id"]] = (a["name"], a["value"])


def browser_sign_in(verifier):
    """The AWS CLI v2's authorize URL (challenge unpadded, appended last), then Allow."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()[:-1]
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": SAME_DEVICE,
            "state": "4f1c",
            "code_challenge_method": "SHA-256",
            "scope": "openid",
            "redirect_uri": REDIRECT,
        }
    )
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(EMU + "/v1/authorize?" + query + "&code_challenge=" + challenge) as r:
        form = ConsentForm()
        form.feed(r.read().decode())
    name, value = form.buttons["allow"]
    body = urllib.parse.urlencode(
        dict(form.fields, principal="breakglass-alice", mfa="true", **{name: value})
    ).encode()
    try:
        opener.open(EMU + "/v1/authorize/consent", data=body)
    except urllib.error.HTTPError as e:
        assert e.code == 302, e
        location = e.headers["Location"]
        assert location.startswith(REDIRECT + "?"), location
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        assert q["state"] == "4f1c", q
        return q["code"]
    raise AssertionError("no redirect")


def signin_client(proof_hook):
    client = boto3.session.Session(region_name=REGION).client(
        "signin", config=botocore.config.Config(signature_version=UNSIGNED)
    )
    client.meta.events.register("before-call.signin.CreateOAuth2Token", proof_hook)
    return client


def custom_proof(make):
    def hook(**kwargs):
        kwargs["params"]["headers"]["DPoP"] = make(kwargs["params"]["url"])

    return hook


def pem(key):
    """The AWS CLI's `_serialize_to_pem`."""
    contents = base64.b64encode(key.export_key(ECExportFormat.SEC1)).decode()
    return "-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----\n" % textwrap.fill(
        contents, width=64
    )


def expect_signin_error(status, name, code, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], e.response.get("error"))
        assert got == (status, name, code), got
        return e
    raise AssertionError("expected %s, call succeeded" % name)


def main():
    key = EC.new_generate(ECType.P_256)
    verifier = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
    code = browser_sign_in(verifier)
    ok("authorize page and consent redirect to the loopback listener")

    client = signin_client(_build_add_dpop_header_handler(key))
    out = client.create_o_auth2_token(
        tokenInput={
            "clientId": SAME_DEVICE,
            "grantType": "authorization_code",
            "code": code,
            "codeVerifier": verifier,
            "redirectUri": REDIRECT,
        }
    )["tokenOutput"]
    assert out["tokenType"] == "aws_sigv4" and out["expiresIn"] == 900, out.keys()
    payload = out["idToken"].split(".")[1]
    sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    assert sub == ARN, sub
    ok("CreateOAuth2Token authorization_code with botocore's DPoP header")

    # The AWS CLI's cache file, access token already expired so the provider refreshes.
    cache_dir = os.path.join(os.environ["HOME"], ".aws", "login", "cache")
    os.makedirs(cache_dir)
    path = os.path.join(cache_dir, hashlib.sha256(ARN.encode()).hexdigest() + ".json")
    first_refresh = out["refreshToken"]
    with open(path, "w") as f:
        json.dump(
            {
                "accessToken": {
                    "accessKeyId": out["accessToken"]["accessKeyId"],
                    "secretAccessKey": out["accessToken"]["secretAccessKey"],
                    "sessionToken": out["accessToken"]["sessionToken"],
                    "accountId": "100000000001",
                    "expiresAt": "2020-01-01T00:00:00Z",
                },
                "tokenType": out["tokenType"],
                "clientId": SAME_DEVICE,
                "refreshToken": first_refresh,
                "idToken": out["idToken"],
                "dpopKey": pem(key),
            },
            f,
        )
    with open(os.environ["AWS_CONFIG_FILE"], "w") as f:
        f.write("[profile console]\nlogin_session = %s\nregion = %s\n" % (ARN, REGION))

    who = boto3.session.Session(profile_name="console").client("sts").get_caller_identity()
    assert who["Arn"] == ARN, who
    calls = control("signin/token-calls")
    assert calls.get("refresh_token") == 1, calls
    ok("LoginProvider refreshes from the cache file and STS accepts the credentials")

    with open(path) as f:
        saved = json.load(f)
    live = [s["refresh_token"] for s in control("signin/sessions")["sessions"]]
    assert saved["refreshToken"] != first_refresh and live == [saved["refreshToken"]], (live,)
    ok("the rotated refresh token is written back and is the only live one")

    # The rotated-out token: a bad grant, what racing AWS CLI processes report (aws/aws-cli#10613).
    expect_signin_error(
        400,
        "ValidationException",
        "INVALID_REQUEST",
        signin_client(_build_add_dpop_header_handler(key)).create_o_auth2_token,
        tokenInput={"clientId": SAME_DEVICE, "grantType": "refresh_token", "refreshToken": first_refresh},
    )
    ok("a rotated refresh token is ValidationException INVALID_REQUEST (400)")

    current = live[0]
    refresh = {"clientId": SAME_DEVICE, "grantType": "refresh_token", "refreshToken": current}
    bad = [
        ("wrong htu", lambda url: _build_dpop_header(key, "https://us-east-1.signin.aws.amazon.com/v1/token")),
        ("stale iat", lambda url: _build_dpop_header(key, url, ts=1_000_000_000)),
        ("another key", lambda url: _build_dpop_header(EC.new_generate(ECType.P_256), url)),
    ]
    for name, make in bad:
        expect_signin_error(
            400, "ValidationException", "INVALID_REQUEST",
            signin_client(custom_proof(make)).create_o_auth2_token, tokenInput=refresh,
        )
        ok("a proof with %s is ValidationException INVALID_REQUEST (400)" % name)

    fixed = custom_proof(lambda url: _build_dpop_header(key, url, uid="jti-once"))
    out = signin_client(fixed).create_o_auth2_token(tokenInput=refresh)["tokenOutput"]
    expect_signin_error(
        400, "ValidationException", "INVALID_REQUEST",
        signin_client(fixed).create_o_auth2_token,
        tokenInput=dict(refresh, refreshToken=out["refreshToken"]),
    )
    ok("a replayed jti is ValidationException INVALID_REQUEST (400)")

    # The sign-in session's end (12 h, however often it rotated): TOKEN_EXPIRED, which
    # LoginProvider turns into 'aws login' again.
    saved = dict(saved, refreshToken=out["refreshToken"])
    saved["accessToken"] = dict(saved["accessToken"], expiresAt="2020-01-01T00:00:00Z")
    with open(path, "w") as f:
        json.dump(saved, f)
    req = urllib.request.Request(
        EMU + "/_emulator/clock", data=b'{"advance_seconds":43200}', method="POST"
    )
    urllib.request.urlopen(req).read()
    try:
        boto3.session.Session(profile_name="console").get_credentials().get_frozen_credentials()
        raise AssertionError("refresh after the session's end succeeded")
    except LoginRefreshRequired:
        pass
    ok("the session's end is TOKEN_EXPIRED, which LoginProvider turns into LoginRefreshRequired")

    print("%d passed, 0 failed" % passed)


main()
