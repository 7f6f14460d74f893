"""boto3/botocore against awsx-emulator.

Run by the Rust test `boto3::boto3_accepts_the_emulator` with AWS_ENDPOINT_URL_SSO,
AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM pointing at the
emulator, EMULATOR_URL at its base (for the control API), and a private HOME with empty AWS
config files. Prints one `ok <check>` line per check and a closing `N passed, 0 failed`;
exits non-zero at the first failure.
"""

import base64
import hashlib
import html.parser
import json
import os
import sys
import urllib.parse
import urllib.request

import boto3
from botocore.exceptions import ClientError

EMU = os.environ["EMULATOR_URL"]
START_URL = "https://d-90679a1b2c.awsapps.com/start"
REGION = "us-east-1"
passed = 0


def control(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(EMU + "/_emulator/" + path, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def ok(name):
    global passed
    passed += 1
    print("ok " + name, flush=True)


def expect_error(expected, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != expected:
            raise AssertionError("expected %s, got %s: %s" % (expected, got, e)) from e
        return e
    raise AssertionError("expected %s, call succeeded" % expected)


def session(**creds):
    return boto3.session.Session(region_name=REGION, **creds)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """The browser's redirect to the loopback listener is what the check reads: keep it."""

    def redirect_request(self, *args, **kwargs):
        return None


class ConsentForm(html.parser.HTMLParser):
    """The consent page's hidden inputs and buttons, as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.fields, self.buttons = {}, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a["value"]
        if tag == "button":
            self.buttons[a["id"]] = (a["name"], a["value"])


def browser_authorize(query, action, user="alice"):
    """Opens the authorize URL, presses a consent button; returns the redirect's query."""
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(EMU + "/authorize?" + urllib.parse.urlencode(query)) as r:
        form = ConsentForm()
        form.feed(r.read().decode())
    name, value = form.buttons[action]
    body = urllib.parse.urlencode(dict(form.fields, user=user, **{name: value})).encode()
    try:
        opener.open(EMU + "/authorize/consent", data=body)
    except urllib.error.HTTPError as e:
        assert e.code == 302, e
        location = e.headers["Location"]
        assert location.startswith(query["redirect_uri"] + "?"), location
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    raise AssertionError("no redirect")


def authorization_code_checks(oidc):
    """The browser login (authorization code with PKCE) as the AWS CLI v2 registers it."""
    reg = oidc.register_client(
        clientName="boto3-pkce",
        clientType="public",
        scopes=["sso:account:access"],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=START_URL,
    )
    ok("RegisterClient for the authorization code grant")
    verifier = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = "http://127.0.0.1:49152/oauth/callback"
    query = {
        "response_type": "code",
        "client_id": reg["clientId"],
        "redirect_uri": redirect,
        "state": "state-1",
        "code_challenge_method": "S256",
        "scopes": "sso:account:access",
        "code_challenge": challenge,
    }
    denied = browser_authorize(query, "deny")
    assert denied["error"] == "access_denied" and denied["state"] == "state-1", denied
    ok("authorize: Deny redirects with access_denied")
    got = browser_authorize(dict(query, state="state-2"), "allow")
    assert got["state"] == "state-2" and got["code"], got
    ok("authorize: Allow redirects with a code and the state")

    exchange = dict(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="authorization_code",
        code=got["code"],
        redirectUri=redirect,
        codeVerifier=verifier,
    )
    expect_error("InvalidGrantException", oidc.create_token, **dict(exchange, codeVerifier=verifier[:-1] + "x"))
    ok("CreateToken authorization_code wrong verifier")
    expect_error("InvalidGrantException", oidc.create_token, **dict(exchange, redirectUri="http://127.0.0.1:1/oauth/callback"))
    ok("CreateToken authorization_code wrong redirect URI")
    e = expect_error("InvalidClientException", oidc.create_token, **dict(exchange, clientId="no-such-client"))
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    ok("CreateToken authorization_code unknown client")
    tok = oidc.create_token(**exchange)
    assert tok["tokenType"] == "Bearer" and tok["accessToken"] and tok["refreshToken"] and tok["expiresIn"] > 0
    ok("CreateToken authorization_code")
    expect_error("InvalidGrantException", oidc.create_token, **exchange)
    ok("CreateToken authorization_code reused code")
    ref = oidc.create_token(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token", refreshToken=tok["refreshToken"]
    )
    assert ref["accessToken"] and ref["refreshToken"] != tok["refreshToken"]
    ok("CreateToken refresh_token after the authorization code grant")


def main():
    anon = session()
    oidc = anon.client("sso-oidc")
    reg = oidc.register_client(clientName="boto3", clientType="public", scopes=["sso:account:access"])
    assert reg["clientSecretExpiresAt"] - reg["clientIdIssuedAt"] == 90 * 24 * 3600
    ok("RegisterClient")

    dev = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )
    assert dev["interval"] == 1 and "-" in dev["userCode"]
    ok("StartDeviceAuthorization")

    grant = "urn:ietf:params:oauth:grant-type:device_code"
    poll = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType=grant, deviceCode=dev["deviceCode"])
    e = expect_error("AuthorizationPendingException", oidc.create_token, **poll)
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ok("CreateToken pending")
    expect_error("SlowDownException", oidc.create_token, **poll)
    ok("CreateToken slow_down")

    control("approve", {"user_code": dev["userCode"], "user": "alice"})
    tok = oidc.create_token(**poll)
    assert tok["tokenType"] == "Bearer" and tok["refreshToken"]
    ok("CreateToken device_code")

    ref = oidc.create_token(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token", refreshToken=tok["refreshToken"]
    )
    assert ref["refreshToken"] != tok["refreshToken"]
    expect_error(
        "InvalidGrantException",
        oidc.create_token,
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="refresh_token",
        refreshToken=tok["refreshToken"],
    )
    ok("CreateToken refresh_token rotation")
    e = expect_error("InvalidClientException", oidc.create_token, **dict(poll, clientSecret="wrong"))
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    ok("CreateToken invalid_client")
    authorization_code_checks(oidc)

    access = ref["accessToken"]
    sso = anon.client("sso")
    accounts = [
        a
        for page in sso.get_paginator("list_accounts").paginate(accessToken=access, PaginationConfig={"PageSize": 2})
        for a in page["accountList"]
    ]
    assert [a["accountName"] for a in accounts] == ["management", "sandbox", "staging", "integrations", "production"], accounts
    ok("ListAccounts paginator")
    roles = [
        r["roleName"]
        for page in sso.get_paginator("list_account_roles").paginate(
            accessToken=access, accountId="100000000001", PaginationConfig={"PageSize": 1}
        )
        for r in page["roleList"]
    ]
    assert roles == ["AdministratorAccess", "ReadOnlyAccess", "Billing"], roles
    ok("ListAccountRoles paginator")

    rc = sso.get_role_credentials(accessToken=access, accountId="100000000001", roleName="AdministratorAccess")["roleCredentials"]
    assert rc["accessKeyId"].startswith("ASIA") and rc["expiration"] > 10**12
    ok("GetRoleCredentials")
    expect_error("UnauthorizedException", sso.list_accounts, accessToken="bogus")
    ok("ListAccounts unauthorized")
    e = expect_error("ForbiddenException", sso.get_role_credentials, accessToken=access, accountId="500000000005", roleName="NoSuchRole")
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    ok("GetRoleCredentials forbidden")

    role = session(
        aws_access_key_id=rc["accessKeyId"], aws_secret_access_key=rc["secretAccessKey"], aws_session_token=rc["sessionToken"]
    )
    who = role.client("sts").get_caller_identity()
    assert who["Account"] == "100000000001"
    assert who["Arn"].startswith("arn:aws:sts::100000000001:assumed-role/AWSReservedSSO_AdministratorAccess_"), who
    assert who["Arn"].endswith("/alice")
    ok("GetCallerIdentity with SSO role credentials")

    chained = role.client("sts").assume_role(
        RoleArn="arn:aws:iam::500000000005:role/OrganizationAccountAccessRole", RoleSessionName="alice"
    )
    # botocore turns Expiration into a datetime; seeing one proves the XML parsed.
    assert chained["Credentials"]["Expiration"].year >= 2024
    ok("AssumeRole (role chaining)")

    # A presigned GetCallerIdentity URL, as aws-iam-authenticator (EKS) builds one.
    url = role.client("sts").generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    with urllib.request.urlopen(url) as r:
        body = r.read().decode()
    assert "<Arn>arn:aws:sts::100000000001:assumed-role/AWSReservedSSO_AdministratorAccess_" in body, body
    ok("GetCallerIdentity presigned URL")

    bad = session(aws_access_key_id=rc["accessKeyId"], aws_secret_access_key="wrong", aws_session_token=rc["sessionToken"])
    e = expect_error("SignatureDoesNotMatch", bad.client("sts").get_caller_identity)
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    ok("GetCallerIdentity bad signature")

    bg = session(aws_access_key_id="AKIA2EMULATORALICE01", aws_secret_access_key="emuAliceBreakGlassSecretKey0000000000001")
    sts = bg.client("sts")
    expect_error(
        "AccessDenied", sts.assume_role, RoleArn="arn:aws:iam::500000000005:role/BreakGlass", RoleSessionName="breakglass-alice"
    )
    ok("AssumeRole without MFA denied")
    code = control("totp?user=breakglass-alice&offset=0")["code"]
    out = sts.assume_role(
        RoleArn="arn:aws:iam::500000000005:role/BreakGlass",
        RoleSessionName="breakglass-alice",
        SerialNumber="arn:aws:iam::100000000001:mfa/breakglass-alice",
        TokenCode=code,
        SourceIdentity="alice@example.com",
        Tags=[{"Key": "reason", "Value": "INC-123 IdP outage"}],
        DurationSeconds=3600,
    )
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice"
    assert out["SourceIdentity"] == "alice@example.com"
    ok("AssumeRole break-glass with MFA")

    iam = bg.client("iam")
    user = iam.get_user()["User"]
    assert user["Arn"] == "arn:aws:iam::100000000001:user/breakglass-alice"
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == ["AKIA2EMULATORALICE01"]
    new = iam.create_access_key()["AccessKey"]
    expect_error("LimitExceeded", iam.create_access_key)
    fresh = session(aws_access_key_id=new["AccessKeyId"], aws_secret_access_key=new["SecretAccessKey"])
    fresh.client("iam").delete_access_key(AccessKeyId="AKIA2EMULATORALICE01")
    expect_error("InvalidClientTokenId", sts.get_caller_identity)
    ok("IAM key rotation")

    sso.logout(accessToken=access)
    expect_error("UnauthorizedException", sso.list_accounts, accessToken=access)
    ok("Logout")

    print("%d passed, 0 failed" % passed, flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail: the Rust test shows this output
        print("FAILED after %d checks: %r" % (passed, e), flush=True)
        sys.exit(1)
