"""What the platforms' MQTT clients and the MQTT forwarder agree on.

`platform.mqtt_client(host, port, client_id, username, password, ssl,
keepalive, will)` returns a client (aiomqtt on the host, umqtt.simple driven
from asyncio on MicroPython) with:

    await connect()                 # CONNECT with the will, until CONNACK
    await subscribe(topic)          # QoS 0
    await publish(topic, payload, retain)   # QoS 1: returns once the broker has it
    await message()                 # the next (topic, payload bytes) received
    await close()                   # ends it as a lost connection would:
                                    # the broker publishes the will

`will` is (topic, payload): published retained at QoS 1 by the broker
when the connection is lost. Every failure of the connection is an
OSError; a broker that refuses the client for good is `Refused`.
"""


class Refused(Exception):
    """The broker refused the connection (CONNACK), for a reason a retry
    does not change: wrong credentials, no right, a client id it rejects."""


#: MQTT 3.1.1 CONNACK return codes.
REASONS = {1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
           4: "bad user name or password", 5: "not authorized"}


def refusal(code):
    """The exception for a CONNACK return code: 3 (server unavailable) is
    worth retrying (OSError), the others are Refused."""
    reason = "the broker refused the connection: {}".format(REASONS.get(code, "code {}".format(code)))
    return OSError(reason) if code == 3 else Refused(reason)
