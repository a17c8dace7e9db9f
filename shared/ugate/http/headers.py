"""Security headers on every response, as Home Assistant sends them."""

SECURITY_HEADERS = (
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
)


class SecurityHeaders:
    async def before(self, request):
        return None

    def after(self, request, response):
        for name, value in SECURITY_HEADERS:
            response.headers[name] = value
