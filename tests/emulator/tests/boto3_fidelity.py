"""boto3/botocore against awsx-emulator.

Run by the Rust test `boto3::boto3_accepts_the_emulator` with AWS_ENDPOINT_URL_SSO,
AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM pointing at the
emulator, EMULATOR_URL at its base (for the control API), and a private HOME with empty AWS
config files. Prints one `ok <check>` line per check and a closing `N passed, 0 failed`;
exits non-zero at the first failure.
"""

import json
import os
import sys
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


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            raise AssertionError("expected %s, got %s: %s" % (code, got, e)) from e
        return e
    raise AssertionError("expected %s, call succeeded" % code)


def session(**creds):
    return boto3.session.Session(region_name=REGION, **creds)


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
