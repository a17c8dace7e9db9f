"""What the hardware stand-ins share: their settings (a JSON file named by
UGATE_STANDIN) and their log (that file's name + ".log"), where each
stand-in appends what the board would have done, one line each."""
import json
import os

PATH = os.getenv("UGATE_STANDIN")


def settings():
    with open(PATH) as f:
        return json.load(f)


def record(line):
    with open(PATH + ".log", "a") as f:
        f.write(line + "\n")
