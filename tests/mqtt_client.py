"""An MQTT subscriber for the tests, as any MQTT application would be: paho-mqtt
(the client Home Assistant's own MQTT integration is built on), its network
loop in a thread, every message kept in order of arrival."""
import json
import ssl
import threading
import time

import paho.mqtt.client as paho


class Subscriber:
    def __init__(self, port, topics=("#",), ca_file=None, username=None, password=None, timeout=10):
        self.messages = []  # (topic, payload bytes, retained)
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        if ca_file:
            self.client.tls_set_context(ssl.create_default_context(cafile=ca_file))
        if username:
            self.client.username_pw_set(username, password)
        # Back soon after a broker restart (paho reconnects by itself and
        # subscribes again in on_connect).
        self.client.reconnect_delay_set(1, 1)

        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(client, userdata, mid, reason_codes, properties):
            subscribed.set()

        def on_message(client, userdata, message):
            with self.lock:
                self.messages.append((message.topic, message.payload, bool(message.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(timeout):
            self.close()
            raise AssertionError("no subscription on port {} within {} s".format(port, timeout))

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def received(self, topic):
        """Every payload received on `topic`, oldest first."""
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def topics(self, prefix=""):
        with self.lock:
            return {t for t, _, _ in self.messages if t.startswith(prefix)}

    def wait(self, topic, check=None, timeout=20, after=0):
        """The newest payload on `topic` (from its `after`-th message on)
        once `check(payload)` holds (any payload without `check`); fails
        after `timeout` seconds."""
        deadline = time.time() + timeout
        while True:
            payloads = self.received(topic)[after:]
            if payloads and (check is None or check(payloads[-1])):
                return payloads[-1]
            if time.time() > deadline:
                raise AssertionError("timed out waiting on {}; got {!r}".format(topic, payloads[-3:]))
            time.sleep(0.02)

    def wait_json(self, topic, timeout=20, after=0):
        return json.loads(self.wait(topic, lambda p: p != b"", timeout, after))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
