"""Sources: where readings come from (serial and radio gateways, Hono
devices). Each publishes into the hub; none imports a face."""
