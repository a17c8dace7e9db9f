"""Make a long-lived access token for Home Assistant with Home Assistant's
own auth code (run by the Python of its virtual environment, before it
starts): an admin user and a token valid for ten years, saved to the config
directory's `.storage/auth`, printed alone on stdout.

    <ha venv>/bin/python tools/ha_token.py CONFIG_DIR
"""
import asyncio
import sys
from datetime import timedelta

from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry, entity_registry


async def main(config_dir):
    hass = HomeAssistant(config_dir)
    # The auth store looks users up in the registries.
    await device_registry.async_load(hass)
    await entity_registry.async_load(hass)
    auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    user = await auth.async_create_user("bench", group_ids=[GROUP_ID_ADMIN])
    refresh = await auth.async_create_refresh_token(
        user, client_name="ugate bench", token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=3650))
    token = auth.async_create_access_token(refresh)
    store = auth._store  # the save is otherwise delayed until Home Assistant stops
    await store._store.async_save(store._data_to_save())
    print(token)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
