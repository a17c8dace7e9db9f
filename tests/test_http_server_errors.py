"""A bug in a request layer costs that connection only: it is logged and
closed, the connection slot comes back and the gateway keeps serving. Run
in-process on both runtimes with a layer that raises."""
from conftest import free_port, run_core

CODE = """
import asyncio
from ugate.http.server import Server

class Broken:
    async def before(self, request):
        if request.path == "/boom":
            raise KeyError("bug")
    def after(self, request, response):
        pass

app = Server()
app.layers = [Broken()]

@app.get("/ok")
async def ok(request):
    return "fine"

async def fetch(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write("GET {} HTTP/1.0\\r\\n\\r\\n".format(path).encode())
    await writer.drain()
    data = await reader.read(4096)
    writer.close()
    return data

async def main():
    server = asyncio.create_task(app.start_server("127.0.0.1", PORT))
    await asyncio.sleep(0.3)
    boom = await fetch(PORT, "/boom")
    ok = await fetch(PORT, "/ok")
    await asyncio.sleep(0.2)  # let the server finish closing
    print(repr(boom), ok.split(b"\\r\\n")[0].decode(), app.connections)
    app.shutdown()

asyncio.run(main())
"""


def test_a_failing_layer_costs_one_connection(runtime):
    out = run_core(runtime, CODE.replace("PORT", str(free_port())))
    assert out.strip().endswith("b'' HTTP/1.0 200 OK 0"), out
