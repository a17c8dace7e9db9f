"""The bare-Microdot ceiling of tools/bench_ha.py: the least a Microdot app
can do for the route the bench posts to (read the JSON body, answer the
state as JSON), on CPython or the MicroPython unix port.

    python tools/bench_microdot.py PORT
"""
import sys

from microdot import Microdot

app = Microdot()


@app.post("/api/states/<entity_id>")
async def set_state(request, entity_id):
    return {"entity_id": entity_id, "state": request.json["state"]}


app.run(host="127.0.0.1", port=int(sys.argv[1]))
