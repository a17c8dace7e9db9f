"""The sign-in page at `/auth/authorize`: one static page, its style and
script inline, nothing loaded from elsewhere (a board has no internet and a
phone's web view may not either). Imported on its first request only.

The script reads `client_id`, `redirect_uri` and `state` from the page's
URL, runs Home Assistant's login flow (`/auth/providers`,
`/auth/login_flow`, `/auth/login_flow/<flow_id>`) and then navigates to
`<redirect_uri>?code=<code>[&state=<state>][&storeToken=true]`, as Home
Assistant's own page does; a link to that address stays on the page for a
web view that does not follow. The Content-Security-Policy allows exactly
this style and this script, by their SHA-256 hashes (`tests/test_auth_http.py`
checks them: change the page, and it prints the new ones).
"""

#: The page in pieces of under 1 KB: loaded from a file (not frozen), a
#: board's fragmented heap may have no single block for all 4.8 KB.
PAGE = (
    b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - ugate</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f2f4f7;color:#1c1c1c}
main{max-width:22rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 4px #0003}
h1{font-size:1.4rem;margin:0 0 .5rem}
#client{color:#555;font-size:.9rem;word-break:break-all}
label{display:block;margin:.9rem 0 .3rem}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #888;border-radius:.4rem}
label.check{display:flex;gap:.5rem;align-items:center}
button{margin-top:1rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:.4rem;background:#03a9f4;color:#fff}
button:disabled{background:#8cc}
""",
    b""":focus-visible{outline:3px solid #f57c00;outline-offset:2px}
#error{color:#b00020;min-height:1.2em}
</style></head>
<body><main>
<h1>Sign in</h1>
<p id="client"></p>
<form id="form">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label class="check"><input id="remember" type="checkbox"> Keep me signed in</label>
<p id="error" role="alert" aria-live="assertive"></p>
<button id="submit" type="submit">Sign in</button>
</form>
<p id="done" hidden>Signed in. <a id="back">Return to the app</a></p>
<noscript><p>This page needs JavaScript.</p></noscript>
</main><script>
(function () {
  "use strict";
""",
    b"""  var $ = function (id) { return document.getElementById(id); };
  var query = new URLSearchParams(location.search);
  var clientId = query.get("client_id"), redirectUri = query.get("redirect_uri");
  var state = query.get("state"), flowId = null;
  var form = $("form"), button = $("submit");

  function say(text) { $("error").textContent = text; }
  function stop(text) { say(text); button.disabled = true; }

  async function call(method, path, body) {
    var res = await fetch(path, {method: method, cache: "no-store",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    var data = {};
    try { data = await res.json(); } catch (e) { data = {message: "The gateway answered " + res.status + "."}; }
    return {status: res.status, data: data};
  }

  async function start() {
    var r = await call("POST", "/auth/login_flow", {client_id: clientId,
""",
    b"""      handler: ["homeassistant", null], redirect_uri: redirectUri, type: "authorize"});
    if (r.status !== 200) { throw new Error(r.data.message || "The sign-in cannot start."); }
    flowId = r.data.flow_id;
  }

  function finish(code) {
    var url = redirectUri;
    url += url.indexOf("?") < 0 ? "?" : (/&$/.test(url) ? "" : "&");
    url += "code=" + encodeURIComponent(code);
    if (state) { url += "&state=" + encodeURIComponent(state); }
    if ($("remember").checked) { url += "&storeToken=true"; }
    $("back").href = url;
    form.hidden = true;
    $("done").hidden = false;
    location.assign(url);
  }

  async function signIn() {
    var body = {client_id: clientId, username: $("username").value, password: $("password").value};
    var r = await call("POST", "/auth/login_flow/" + flowId, body);
    if (r.status === 404) {  // the flow expired: once more with a new one
""",
    b"""      await start();
      r = await call("POST", "/auth/login_flow/" + flowId, body);
    }
    if (r.status === 200 && r.data.type === "create_entry") { return finish(r.data.result); }
    if (r.status === 200 && r.data.errors && r.data.errors.base === "invalid_auth") {
      $("password").value = "";
      $("password").focus();
      return say("Invalid username or password.");
    }
    say(r.data.message || "The sign-in failed.");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    say("");
    button.disabled = true;
    signIn().catch(function (e) { say(e.message); }).then(function () { button.disabled = false; });
  });

  async function load() {
    if (!clientId || !redirectUri) { return stop("This address lacks its client_id or redirect_uri."); }
    $("client").textContent = "for " + clientId;
""",
    b"""    var r = await call("GET", "/auth/providers");
    if (r.status === 400 && r.data.code === "onboarding_required") {
      return stop("No user exists yet: create the owner first (ugate user create).");
    }
    if (r.status !== 200) { return stop(r.data.message || "The gateway refused the sign-in."); }
    $("remember").checked = !!r.data.preselect_remember_me;
    await start();
  }
  load().catch(function (e) { stop(e.message); });
})();
</script></body></html>
""",
)
LENGTH = sum(len(piece) for piece in PAGE)

SCRIPT_SHA256 = "s6FlC/kHEtbcdoJloc6k1/a4x1PJiMn6065noGqDIIk="
STYLE_SHA256 = "5/41Jl8FSrM4ogOlZbpRdBuiL5lqy3ewal8wa1aWZ/o="
CSP = ("default-src 'none'; script-src 'sha256-" + SCRIPT_SHA256 + "'; style-src 'sha256-"
       + STYLE_SHA256 + "'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")


def response():
    from microdot import Response
    return Response(iter(PAGE), 200, {
        "Content-Type": "text/html; charset=utf-8", "Content-Length": LENGTH,
        "Content-Security-Policy": CSP, "Cache-Control": "no-store", "Pragma": "no-cache"})
