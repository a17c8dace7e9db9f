"""Forwarding into Home Assistant: every change of an included entity is
POSTed to `<url>/api/states/<entity_id>` with its attributes, as the HTTP
sensors of Home Assistant's REST API do (a removed entity is DELETEd).

- 2xx: delivered. 400 (or another 4xx): that state is dropped, with a log
  line. 401/403: the token is refused: the forwarder stops and raises a
  persistent notification. 5xx or no connection: the state stays queued
  and is retried with backoff.
- At start every included entity is delivered once, so the target has the
  gateway's states after an outage or a restart of either side; while the
  target is down only the newest state of each entity waits.
"""
import json

from ugate.faces.forward import EntityFilter, Forwarder, StateQueue
from ugate.http.client import Client, ClientError
from ugate.http.url import quote


class HomeAssistant(Forwarder):
    def __init__(self, hub, conf):
        super().__init__(hub, conf)
        ssl = None
        if conf["url"].startswith("https://"):
            ssl = hub.platform.client_ssl_context(conf["verify_ssl"], conf["ca_file"])
        self.client = Client(conf["url"], ssl)
        self.headers = {"Authorization": "Bearer " + conf["token"],
                        "Content-Type": "application/json"}
        self.prefix = conf["prefix"]
        self.queue = StateQueue(EntityFilter(conf["include"], conf["exclude"]))
        for state in hub.states.all():
            self.queue.add(state.entity_id)
        hub.bus.listen("state_changed", self.queue.changed)

    def queued(self):
        return len(self.queue.pending)

    def target(self, entity_id):
        """The entity id in the target: the prefix goes before the object id."""
        if not self.prefix:
            return entity_id
        domain, object_id = entity_id.split(".", 1)
        return "{}.{}{}".format(domain, self.prefix, object_id)

    async def run(self, hub):
        while not self.stopped:
            entity_id, count = await self.queue.next()
            state = hub.states.get(entity_id)
            path = "/api/states/" + quote(self.target(entity_id))
            try:
                if state is None:
                    answer = await self.client.request("DELETE", path, self.headers)
                else:
                    body = json.dumps({"state": state.state, "attributes": state.attributes})
                    answer = await self.client.request("POST", path, self.headers, body.encode())
            except ClientError as exc:
                await self.unreachable(str(exc))
                continue
            if answer.status in (401, 403):
                self.refused("{} answered {}: the token is not accepted".format(
                    self.conf["url"], answer.status))
                return
            if answer.status >= 500:
                await self.unreachable("{} answered {}".format(self.conf["url"], answer.status))
                continue
            self.reached()
            self.queue.done(entity_id, count)
            if answer.status < 300 or state is None and answer.status == 404:
                self.sent += 1
            else:
                self.failed += 1
                self.log.warning("{} refused {} ({}): {}; dropped".format(
                    self.conf["url"], entity_id, answer.status, answer.body[:200]))


def create(hub, conf):
    return HomeAssistant(hub, conf)
