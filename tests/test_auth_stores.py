"""What the sign-in keeps, bounded and expiring, on both runtimes (in
process: a code's 10 minutes and a refresh token's 90 days are too long to
wait for over HTTP): login flows and codes expire and the oldest make room;
refresh tokens expire unused, are stored hashed, and a sign-in past the
bound ends the one unused longest."""
from conftest import run_core

STORES = """
from ugate.faces.homeassistant.login_flow import AuthCodes, LoginFlows
from ugate.hub.refresh_tokens import RefreshTokens
import json

codes = AuthCodes()
code = codes.create("https://a.example/", "u1")
print(codes.redeem("https://b.example/", code), codes.redeem("https://a.example/", code),
      codes.redeem("https://a.example/", code))
AuthCodes.lifetime = 0
print(codes.redeem("https://a.example/", codes.create("https://a.example/", "u1")))

LoginFlows.max_entries = 2
flows = LoginFlows()
first, second, third = flows.add("f1"), flows.add("f2"), flows.add("f3")
print(flows.take(first), flows.take(second)[1], flows.take(third)[1])

store = RefreshTokens({dir!r}, 2, 2, 1800)
t1, r1 = store.create("u1", "c1")
a1 = store.issue(r1, "10.0.0.1")
t2, r2 = store.create("u2", "c2")
store.issue(r2, "10.0.0.2")
r2["last_used_us"] += 1  # the newer one
t3, r3 = store.create("u3", "c3")  # the bound: r1, unused longest, goes
store.issue(r3, "10.0.0.3")
print(store.find(t1) is None, store.find(t2)["user_id"], store.find(t3)["user_id"])
text = open({dir!r} + "/refresh_tokens.json").read()
print(t2 in text or t3 in text or a1 in text)
RefreshTokens.unused_lifetime = 0
print(store.find(t2), RefreshTokens({dir!r}, 2, 2, 1800).tokens)
"""


def test_bounded_expiring_stores(runtime, tmp_path):
    out = run_core(runtime, STORES.format(dir=str(tmp_path))).split("\n")
    assert out[:6] == ["None u1 None", "None", "None f2 f3", "True u2 u3", "False", "None {}"]
