"""A scripted phone for the mobile_app tests: it registers and talks to its
webhook the way the companion apps do (requests-like HTTP with httpx,
PyNaCl's SecretBox for encryption, websocket-client for the WebSocket
session the Android app opens)."""
import base64
import json

import nacl.exceptions
import nacl.secret

import ws_client

ANDROID = {
    "app_id": "io.homeassistant.companion.android", "app_name": "Home Assistant",
    "app_version": "2025.1.1-full", "device_name": "Pixel 8", "manufacturer": "Google",
    "model": "Pixel 8", "os_name": "Android", "os_version": "14", "supports_encryption": False,
    "device_id": "a1b2c3d4e5f60718",
    "app_data": {"push_websocket_channel": True},
}
IOS = {
    "app_id": "io.robbie.HomeAssistant", "app_name": "Home Assistant", "app_version": "2025.1",
    "device_name": "Robbie's iPhone", "manufacturer": "Apple", "model": "iPhone15,2",
    "os_name": "iOS", "os_version": "17.2", "supports_encryption": True,
    "app_data": {"push_url": "https://mobile-apps.home-assistant.io/api/sendPushNotification",
                 "push_token": "abcd"},
}


def legacy_key(secret):
    return secret.encode()[:32].ljust(32, b"\0")


class Phone:
    def __init__(self, gateway, body=ANDROID, path="/api/mobile_app/registrations", token=True):
        """`token`: what the app signed in with (True: the gateway's
        long-lived test token)."""
        self.gateway = gateway
        self.token = token
        self.body = dict(body)
        self.path = path
        self.webhook_id = None
        self.secret = None

    def register(self):
        r = self.gateway.post(self.path, json=self.body, token=self.token)
        assert r.status_code == 201, r.text
        answer = r.json()
        self.webhook_id, self.secret = answer["webhook_id"], answer["secret"]
        return answer

    @property
    def hex_key(self):
        return bytes.fromhex(self.secret)

    def post(self, envelope, raw=None):
        """The webhook's raw answer to an envelope (or to raw bytes)."""
        url = "/api/webhook/" + self.webhook_id
        if raw is not None:
            return self.gateway.post(url, content=raw, token=False)
        return self.gateway.post(url, json=envelope, token=False)

    def envelope(self, kind, data, key=None, padding=True):
        if key is None:
            return {"type": kind, "data": data}
        box = bytes(nacl.secret.SecretBox(key).encrypt(json.dumps(data).encode()))
        text = base64.b64encode(box).decode()
        return {"type": kind, "encrypted": True,
                "encrypted_data": text if padding else text.rstrip("=")}

    def send(self, kind, data=None, key=None, padding=True):
        """(status, answer, key the answer was encrypted with or None)."""
        r = self.post(self.envelope(kind, {} if data is None else data, key, padding))
        return (r.status_code,) + self.opened(r)

    def opened(self, response):
        """(answer, key): an encrypted answer opened with whichever key fits."""
        if not response.content:
            return None, None
        answer = response.json()
        if not (isinstance(answer, dict) and answer.get("encrypted") is True):
            return answer, None
        box = base64.b64decode(answer["encrypted_data"])
        for key in (self.hex_key, legacy_key(self.secret)):
            try:
                return json.loads(nacl.secret.SecretBox(key).decrypt(box)), key
            except nacl.exceptions.CryptoError:
                pass
        raise AssertionError("an encrypted answer that no key of the phone opens")

    def websocket(self):
        """The WebSocket session as the Android app opens it: login, then
        supported_features with coalesced messages first."""
        ws = ws_client.connect(self.gateway, None if self.token is True else self.token)
        ws_client.send(ws, {"id": 1, "type": "supported_features",
                            "features": {"coalesce_messages": 1}})
        return Session(ws)


class Session:
    """A WebSocket session whose messages may come coalesced in arrays."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 2
        self.pending = []
        self.inbox = []
        assert self.wait(1)["success"] is True

    def receive(self):
        if not self.pending:
            data = json.loads(self.ws.recv())
            self.pending = data if isinstance(data, list) else [data]
        return self.pending.pop(0)

    def wait(self, msg_id, type_=None):
        """The next message of `msg_id` (of `type_`); the others are kept
        for later waits."""
        for m in self.inbox:
            if m.get("id") == msg_id and (type_ is None or m["type"] == type_):
                self.inbox.remove(m)
                return m
        while True:
            m = self.receive()
            if m.get("id") == msg_id and (type_ is None or m["type"] == type_):
                return m
            self.inbox.append(m)

    def command(self, message):
        msg_id = self.next_id
        self.next_id += 1
        ws_client.send(self.ws, dict(message, id=msg_id))
        return msg_id, self.wait(msg_id, "result")

    def close(self):
        self.ws.close()
