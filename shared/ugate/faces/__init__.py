"""Faces: the APIs other software reads the hub through (Home Assistant,
Hono applications). A face imports no other face and no source."""
