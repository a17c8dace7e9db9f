"""The HTTP faces: route sets registered on the Gateway app, one module each."""
