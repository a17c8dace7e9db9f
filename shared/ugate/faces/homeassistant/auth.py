"""Home Assistant's sign-in over HTTP: the onboarding of the first user,
the login flow, OAuth2 tokens and the sign-in page (ha-api.md 6.2).

    GET    /auth/providers                     the one provider, or 400 onboarding_required
    GET    /.well-known/oauth-authorization-server
    GET    /auth/authorize                     the sign-in page
    POST   /auth/login_flow                    start a flow: a form for username and password
    POST   /auth/login_flow/<flow_id>          the username and password: an authorization code
    DELETE /auth/login_flow/<flow_id>          abort a flow
    POST   /auth/token                         codes and refresh tokens to access tokens (form-encoded)
    POST   /auth/revoke                        end a refresh token (always 200)
    GET    /api/onboarding, POST /api/onboarding/users    create the owner while no user exists

Only these routes are set up with the gateway. The page (`authorize_page`),
and the views behind the others (`auth_views`) with what only they use, are
imported for each request and unloaded after it; what lasts between
requests (`login_flow.SignIn`) and the hub's user and refresh token stores
stay once loaded.
"""
from ugate.base import compat

PATHS = ("/auth/<path:path>", "/.well-known/oauth-authorization-server", "/api/onboarding",
         "/api/onboarding/users")
#: Imported for one request at a time (none of them holds state).
TRANSIENT = ("ugate.faces.homeassistant.auth_views", "ugate.faces.homeassistant.indieauth",
             "ugate.faces.homeassistant.request_data", "ugate.hub.sessions", "ugate.base.pbkdf2")


def setup(app, hub):
    hub.components.extend(("auth", "onboarding"))
    state = []

    async def sign_in(request, path=None):
        if not state:
            from ugate.faces.homeassistant.login_flow import SignIn
            state.append(SignIn(hub.auth))
        from ugate.faces.homeassistant import auth_views
        try:
            return await auth_views.handle(state[0], request)
        finally:
            for name in TRANSIENT:
                compat.unload(name)

    @app.get("/auth/authorize")
    async def authorize(request):
        # The page alone: its first request needs nothing else.
        from ugate.faces.homeassistant import authorize_page
        try:
            return authorize_page.response()
        finally:
            compat.unload("ugate.faces.homeassistant.authorize_page")

    for path in PATHS:
        app.route(path, methods=["GET", "POST", "DELETE"])(sign_in)
