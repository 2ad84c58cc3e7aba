"""Drives the whole phone-auth flow against a running server, as a Python client sees it.

Usage: client.py [ADDRESS]   (or PHONE_AUTH_ADDR; default 127.0.0.1:50051)

The server must run with SMS_PROVIDER=console (codes come back as debug_code) and with the
admin phone (PHONE_AUTH_ADMIN_PHONE, default +79990001000) in ADMIN_PHONES. Prints one line per
step; on any unexpected result prints what was expected and what came back, and exits 1.

The stubs (phoneauth.v1.auth_pb2, auth_pb2_grpc) are generated from proto/ by run.sh.
"""

import os
import random
import sys

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from phoneauth.v1 import auth_pb2, auth_pb2_grpc

TIMEOUT = 10  # seconds per call
SERVICE = "phoneauth.v1.AuthService"
# Invite codes use digits and capitals without the look-alikes 0/O and 1/I/L.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class Unexpected(Exception):
    """The server answered something a correct server would not."""


class Progress:
    """The last step that passed, and how many have, for the closing lines."""

    last = "connect"
    passed = 0


def step(name, detail):
    Progress.last = name
    Progress.passed += 1
    print(f"ok  {name:<34} {detail}", flush=True)


def check(condition, what):
    if not condition:
        raise Unexpected(what)


def authed(token):
    return [("authorization", f"Bearer {token}")]


def random_mobile():
    """A fresh Russian mobile number, as (national input, E.164), so reruns make new users."""
    digits = f"{random.randrange(10**7):07d}"
    national = f"8 (912) {digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return national, f"+7912{digits}"


def error_details(error):
    """The google.rpc details of a failed call, read from the grpc-status-details-bin trailer."""
    status = rpc_status.from_call(error)
    check(status is not None, f"{error.code().name} came without grpc-status-details-bin")
    found = {}
    for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest,
                 error_details_pb2.RetryInfo, error_details_pb2.PreconditionFailure):
        for detail in status.details:
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind] = message
    return found


def expect_error(call, code, reason):
    """Runs `call`, which must fail with `code` and an ErrorInfo of `reason`."""
    try:
        response = call()
    except grpc.RpcError as error:
        check(error.code() == code,
              f"expected {code.name}, got {error.code().name}: {error.details()}")
        details = error_details(error)
        info = details.get(error_details_pb2.ErrorInfo)
        check(info is not None, f"{code.name} without google.rpc.ErrorInfo")
        check(info.reason == reason, f"expected ErrorInfo.reason {reason}, got {info.reason}")
        check(info.domain == "phoneauth.v1", f"unexpected ErrorInfo.domain {info.domain!r}")
        return error, details
    raise Unexpected(f"expected {code.name} ({reason}), but the call succeeded: {response}")


class Flow:
    def __init__(self, channel, admin_phone):
        self.api = auth_pb2_grpc.AuthServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
        self.admin_phone = admin_phone

    def request_code(self, phone, expect_e164):
        sent = self.api.RequestCode(auth_pb2.RequestCodeRequest(phone_number=phone),
                                    timeout=TIMEOUT)
        check(sent.phone_number == expect_e164,
              f"RequestCode normalised {phone!r} to {sent.phone_number!r}, not {expect_e164!r}")
        check(sent.debug_code != "",
              "RequestCode returned no debug_code: start the server with SMS_PROVIDER=console")
        check(len(sent.debug_code) == sent.code_length,
              f"debug_code has {len(sent.debug_code)} digits, code_length says {sent.code_length}")
        return sent

    def verify(self, phone, code):
        return self.api.VerifyCode(
            auth_pb2.VerifyCodeRequest(phone_number=phone, verification_code=code),
            timeout=TIMEOUT)

    def login(self, national, e164, created):
        sent = self.request_code(national, e164)
        login = self.verify(e164, sent.debug_code)
        check(login.created == created, f"VerifyCode created={login.created}, expected {created}")
        check(login.session_token != "", "VerifyCode returned no session_token")
        check(login.profile.phone_number == e164, f"profile phone {login.profile.phone_number}")
        return login

    def profile(self, token):
        return self.api.GetProfile(auth_pb2.GetProfileRequest(), metadata=authed(token),
                                   timeout=TIMEOUT)

    def run(self):
        # Health: the standard grpc.health.v1 service, for the API and for the server as a whole.
        for service in (SERVICE, ""):
            answer = self.health.Check(health_pb2.HealthCheckRequest(service=service),
                                       timeout=TIMEOUT)
            check(answer.status == health_pb2.HealthCheckResponse.SERVING,
                  f"health of {service or 'the server'!r} is "
                  f"{health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)}")
        step("Health/Check", f"{SERVICE} and '' are SERVING")

        # User A: a code, a wrong guess, then the right code.
        a_national, a_phone = random_mobile()
        sent = self.request_code(a_national, a_phone)
        step("RequestCode (A)",
             f"{a_national!r} -> {sent.phone_number}, debug_code {sent.debug_code}, "
             f"expires in {sent.expires_in_seconds} s, resend after {sent.resend_after_seconds} s")

        wrong = "".join(str((int(d) + 1) % 10) for d in sent.debug_code)
        left = []
        for _ in range(2):
            error, details = expect_error(lambda: self.verify(a_phone, wrong),
                                          grpc.StatusCode.INVALID_ARGUMENT, "WRONG_CODE")
            info = details[error_details_pb2.ErrorInfo]
            check("attempts_left" in info.metadata, "WRONG_CODE ErrorInfo lacks attempts_left")
            left.append(int(info.metadata["attempts_left"]))
            bad = details.get(error_details_pb2.BadRequest)
            check(bad is not None and bad.field_violations[0].field == "verification_code",
                  "WRONG_CODE without a BadRequest naming verification_code")
        check(left[1] == left[0] - 1, f"attempts_left went {left[0]} -> {left[1]}")
        step("VerifyCode wrong code (A)",
             f"INVALID_ARGUMENT WRONG_CODE, attempts_left {left[0]} then {left[1]}: "
             f"{error.details()!r}")

        a_login = self.verify(a_phone, sent.debug_code)
        check(a_login.created, "first VerifyCode of a new number did not register the user")
        check(a_login.HasField("session_expires_at"), "VerifyCode without session_expires_at")
        a_token, a_code = a_login.session_token, a_login.profile.invite_code
        check(len(a_code) == 6 and all(c in INVITE_ALPHABET for c in a_code),
              f"invite code {a_code!r} is not 6 characters of {INVITE_ALPHABET}")
        step("VerifyCode (A)", f"created user {a_login.profile.user_id}, invite code {a_code}")

        profile = self.profile(a_token)
        check(profile.user_id == a_login.profile.user_id and profile.referral_count == 0
              and profile.invited_by == "", f"fresh profile looks wrong: {profile}")
        step("GetProfile (A)", f"user {profile.user_id}, {profile.phone_number}, 0 referrals")

        expect_error(lambda: self.api.GetProfile(auth_pb2.GetProfileRequest(), timeout=TIMEOUT),
                     grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
        step("GetProfile without a token", "UNAUTHENTICATED")

        # User B names A as inviter; an unknown code first.
        b_national, b_phone = random_mobile()
        b_login = self.login(b_national, b_phone, created=True)
        b_token = b_login.session_token
        step("RequestCode + VerifyCode (B)", f"created user {b_login.profile.user_id}")

        unknown = "".join(random.choice(INVITE_ALPHABET) for _ in range(6))
        while unknown in (a_code, b_login.profile.invite_code):
            unknown = "".join(random.choice(INVITE_ALPHABET) for _ in range(6))
        error, _ = expect_error(
            lambda: self.api.SetInviter(auth_pb2.SetInviterRequest(invited_by=unknown),
                                        metadata=authed(b_token), timeout=TIMEOUT),
            grpc.StatusCode.NOT_FOUND, "INVITE_CODE_NOT_FOUND")
        step("SetInviter unknown code (B)", f"NOT_FOUND INVITE_CODE_NOT_FOUND: {error.details()!r}")

        typed = f"  {a_code.lower()} "  # case and surrounding spaces are ignored
        b_profile = self.api.SetInviter(auth_pb2.SetInviterRequest(invited_by=typed),
                                        metadata=authed(b_token), timeout=TIMEOUT)
        check(b_profile.invited_by == a_code,
              f"B's invited_by is {b_profile.invited_by!r}, expected {a_code!r}")
        step("SetInviter (B -> A)", f"B invited_by {b_profile.invited_by}")

        expect_error(
            lambda: self.api.SetInviter(auth_pb2.SetInviterRequest(invited_by=a_code),
                                        metadata=authed(b_token), timeout=TIMEOUT),
            grpc.StatusCode.ALREADY_EXISTS, "INVITER_ALREADY_SET")
        step("SetInviter again (B)", "ALREADY_EXISTS INVITER_ALREADY_SET")

        profile = self.profile(a_token)
        check(profile.referral_count == 1, f"A's referral_count is {profile.referral_count}, not 1")
        check([r.phone_number for r in profile.referrals] == [b_phone],
              f"A's referrals are {[r.phone_number for r in profile.referrals]}, not [{b_phone}]")
        step("GetProfile (A)", f"referral_count 1, referral {profile.referrals[0].phone_number}")

        # Administrators list everyone; others may not.
        expect_error(
            lambda: self.api.ListUsers(auth_pb2.ListUsersRequest(), metadata=authed(b_token),
                                       timeout=TIMEOUT),
            grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        step("ListUsers (B, not an admin)", "PERMISSION_DENIED")

        try:
            admin = self.request_code(self.admin_phone, self.admin_phone)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise Unexpected(f"the admin phone {self.admin_phone} is throttled "
                                 f"({error.details()}); a rerun within RESEND_INTERVAL_SECONDS "
                                 "needs a server started with RESEND_INTERVAL_SECONDS=0") from None
            raise
        admin_token = self.verify(self.admin_phone, admin.debug_code).session_token
        users, pages, token = {}, 0, ""
        while True:
            try:
                page = self.api.ListUsers(
                    auth_pb2.ListUsersRequest(page_size=1000, page_token=token),
                    metadata=authed(admin_token), timeout=TIMEOUT)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.PERMISSION_DENIED:
                    raise Unexpected(f"ListUsers refused {self.admin_phone}: start the server "
                                     f"with ADMIN_PHONES={self.admin_phone}") from None
                raise
            pages += 1
            users.update((u.phone_number, u) for u in page.users)
            token = page.next_page_token
            if not token or pages >= 1000:
                break
        check(a_phone in users and b_phone in users, "ListUsers does not list A and B")
        check(users[a_phone].referral_count == 1, f"A in ListUsers: {users[a_phone]}")
        check(users[b_phone].invited_by == a_code, f"B in ListUsers: {users[b_phone]}")
        step("ListUsers (admin)", f"{len(users)} users in {pages} page(s); A and B as expected")

        # A second session for A (or, with a resend interval, the throttle a client sees).
        a2_token = None
        if sent.resend_after_seconds == 0:
            a2_token = self.login(a_national, a_phone, created=False).session_token
            step("second login (A)", "created=false, a second session")
        else:
            _, details = expect_error(
                lambda: self.api.RequestCode(auth_pb2.RequestCodeRequest(phone_number=a_phone),
                                             timeout=TIMEOUT),
                grpc.StatusCode.RESOURCE_EXHAUSTED, "THROTTLED")
            retry = details.get(error_details_pb2.RetryInfo)
            check(retry is not None, "RESOURCE_EXHAUSTED without google.rpc.RetryInfo")
            step("RequestCode again (A)", f"RESOURCE_EXHAUSTED THROTTLED, RetryInfo "
                 f"{retry.retry_delay.ToTimedelta().total_seconds():.1f} s "
                 "(server has RESEND_INTERVAL_SECONDS > 0: no second session)")

        # Logout revokes the token at once; LogoutAll revokes every session.
        self.api.Logout(auth_pb2.LogoutRequest(), metadata=authed(a_token), timeout=TIMEOUT)
        expect_error(lambda: self.profile(a_token), grpc.StatusCode.UNAUTHENTICATED,
                     "UNAUTHENTICATED")
        step("Logout (A) then GetProfile", "UNAUTHENTICATED")

        last_token = a2_token or b_token
        who = "A" if a2_token else "B"
        check(self.profile(last_token).phone_number == (a_phone if a2_token else b_phone),
              "the other session no longer works")
        revoked = self.api.LogoutAll(auth_pb2.LogoutAllRequest(), metadata=authed(last_token),
                                     timeout=TIMEOUT).revoked_sessions
        check(revoked == 1, f"LogoutAll revoked {revoked} sessions, expected 1")
        expect_error(lambda: self.profile(last_token), grpc.StatusCode.UNAUTHENTICATED,
                     "UNAUTHENTICATED")
        step(f"LogoutAll ({who}) then GetProfile", f"revoked {revoked}, then UNAUTHENTICATED")

        self.api.Logout(auth_pb2.LogoutRequest(), metadata=authed(admin_token), timeout=TIMEOUT)


def main():
    address = (sys.argv[1] if len(sys.argv) > 1 else None) or \
        os.environ.get("PHONE_AUTH_ADDR") or "127.0.0.1:50051"
    admin_phone = os.environ.get("PHONE_AUTH_ADMIN_PHONE", "+79990001000")
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        except grpc.FutureTimeoutError:
            print(f"FAIL cannot connect to {address} within {TIMEOUT} s", file=sys.stderr)
            return 1
        print(f"phone-auth at {address}")
        try:
            Flow(channel, admin_phone).run()
        except Unexpected as problem:
            print(f"FAIL after step {Progress.last!r}: {problem}", file=sys.stderr)
            return 1
        except grpc.RpcError as error:
            print(f"FAIL after step {Progress.last!r}: unexpected {error.code().name}: "
                  f"{error.details()}", file=sys.stderr)
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                print("     the server's throttles refused a call; for repeated runs start it with "
                      "raised limits (see examples/python/README.md)", file=sys.stderr)
            return 1
    print(f"client: {Progress.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
