"""The mobile_app commands of the WebSocket API: a phone opens its local
push channel (`mobile_app/push_notification_channel`, a subscription whose
events are notifications) and confirms what it got
(`mobile_app/push_notification_confirm`); and the phones as devices and
entities of the registry commands."""
from ugate.faces.homeassistant import registry_commands
from ugate.faces.homeassistant.mobile_app.registrations import device_slug
from ugate.faces.homeassistant.websocket_commands import (
    COMMANDS, ERR_NOT_FOUND, error_message, event_message, field, result_message)


def install(mobile):
    async def push_notification_channel(conn, msg):
        msg_id = msg["id"]
        webhook_id = field(msg, "webhook_id", str, required=True)
        support_confirm = field(msg, "support_confirm", bool, False)
        reg = mobile.registrations.get(webhook_id)
        if reg is None or reg["user_id"] != conn.user.id:
            conn.enqueue(error_message(msg_id, ERR_NOT_FOUND, "Webhook ID not found"))
            return
        conn.subscribe(msg_id, lambda: mobile.push.open(
            webhook_id, lambda message: conn.enqueue(event_message(msg_id, message)),
            support_confirm))
        conn.enqueue(result_message(msg_id))
        mobile.push.deliver(webhook_id)  # what waited for the phone, after the answer

    async def push_notification_confirm(conn, msg):
        webhook_id = field(msg, "webhook_id", str, required=True)
        confirm_id = field(msg, "confirm_id", str, required=True)
        if webhook_id not in mobile.push.channels:
            conn.enqueue(error_message(msg["id"], ERR_NOT_FOUND, "Push notification channel not found"))
        elif mobile.push.confirm(webhook_id, confirm_id):
            conn.enqueue(result_message(msg["id"]))
        else:
            conn.enqueue(error_message(msg["id"], ERR_NOT_FOUND, "Push notification not found"))

    COMMANDS["mobile_app/push_notification_channel"] = push_notification_channel
    COMMANDS["mobile_app/push_notification_confirm"] = push_notification_confirm
    mobile.hub.registries.append(Phones(mobile))


class Phones:
    """The phones and their sensors for the registry commands."""

    def __init__(self, mobile):
        self.mobile = mobile

    def devices(self):
        return [registry_commands.device_entry(
            reg["hass_device_id"], reg["device_name"], reg["manufacturer"], reg["model"],
            reg.get("os_version"), reg["entry_id"]) for reg in self.mobile.registrations.all()]

    def entities(self):
        out = []
        for reg in self.mobile.registrations.all():
            for unique_id, e in reg["sensors"].items():
                out.append(registry_commands.entity_entry(
                    e["entity_id"], "mobile_app", reg["webhook_id"] + "_" + unique_id,
                    reg["hass_device_id"], e["name"], e.get("icon"), e.get("entity_category"),
                    e["disabled"], reg["entry_id"]))
            out.append(registry_commands.entity_entry(
                "device_tracker." + device_slug(reg), "mobile_app", reg["webhook_id"],
                reg["hass_device_id"], reg["device_name"], config_entry_id=reg["entry_id"]))
        return out
