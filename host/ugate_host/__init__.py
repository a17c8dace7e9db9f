"""The CPython twin of ugate: the `ugate` command and the host platform."""
