"""The host's MQTT client (the contract is in ugate.base.mqtt): aiomqtt, the
asyncio client over paho-mqtt. A connection is one aiomqtt.Client; aiomqtt
has no reconnect of its own, the forwarder connects again."""
import logging

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from ugate.base.mqtt import refusal

#: Seconds a connect or a publish may wait for the broker.
TIMEOUT = 10
#: Messages received and not yet taken; paho drops what comes past this.
MAX_INBOX = 64
#: paho's and aiomqtt's own log: the forwarder logs what matters (a lost
#: connection, a refusal) in the gateway's log; their warnings about it
#: (closing a connection that is gone) would only repeat it.
_quiet = logging.getLogger("ugate_host.mqtt")
_quiet.setLevel(logging.ERROR)


class Client:
    def __init__(self, host, port, client_id, username, password, ssl, keepalive, will):
        self.options = dict(hostname=host, port=port, identifier=client_id, username=username,
                            password=password, keepalive=keepalive, tls_context=ssl, timeout=TIMEOUT,
                            will=aiomqtt.Will(will[0], will[1], qos=1, retain=True),
                            max_queued_incoming_messages=MAX_INBOX, logger=_quiet)
        self.will = will
        self.client = None

    async def connect(self):
        await self.close()
        self.client = aiomqtt.Client(**self.options)
        try:
            await self.client.__aenter__()  # what `async with` does; the session outlives this call
        except MqttConnectError as exc:
            self.client = None
            raise refusal(_code(exc.rc))
        except aiomqtt.MqttError as exc:
            self.client = None
            raise OSError(str(exc) or "cannot connect")

    async def subscribe(self, topic):
        try:
            await self.client.subscribe(topic, 0)
        except aiomqtt.MqttError as exc:
            raise OSError(str(exc))

    async def publish(self, topic, payload, retain=False):
        try:
            await self.client.publish(topic, payload, qos=1, retain=retain)
        except aiomqtt.MqttError as exc:
            raise OSError(str(exc))

    async def message(self):
        try:
            message = await anext(self.client.messages)
        except aiomqtt.MqttError as exc:
            raise OSError(str(exc))
        return message.topic.value, message.payload

    async def close(self):
        """Publish the will ourselves, then DISCONNECT (which makes the
        broker drop the will): the same `offline` as a lost connection."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            await client.publish(self.will[0], self.will[1], qos=1, retain=True, timeout=2)
        except aiomqtt.MqttError:
            pass  # already gone: the broker publishes the will itself
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError:
            pass


def _code(rc):
    """paho 2 gives MQTT 3.1.1 CONNACK codes as MQTT 5 reason codes."""
    value = getattr(rc, "value", rc)
    return {132: 1, 133: 2, 136: 3, 134: 4, 135: 5}.get(value, value)
