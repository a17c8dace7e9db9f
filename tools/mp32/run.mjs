// Run Python code in a 32-bit MicroPython: the WebAssembly port from npm,
// under node. tools/heap_cost.py measures a board's heap with it.
//
//   node tools/mp32/run.mjs [--lib DIR | --romfs IMAGE] [--copy DIR]... -c CODE [-c CODE]...
//
// --lib DIR      DIR becomes /lib, where a board keeps the .mpy tree it was
//                given with `make deploy`
// --romfs IMAGE  the ROMFS image is placed in memory outside the GC heap (as a
//                board's flash partition is mapped) and mounted at /rom;
//                sys.path gets /rom and /rom/lib as on a board with ROMFS
// --copy DIR     DIR is copied into the in-memory filesystem at the same path
//                (config directories)
//
// Each CODE runs in turn, in the same globals. What they print goes to
// stdout; an uncaught exception exits 1. This port's gc.collect() frees
// nothing allocated during the same run: collect in a CODE of its own.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

function parse(argv) {
  const opts = { copy: [], code: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--lib") opts.lib = value;
    else if (name === "--romfs") opts.romfs = value;
    else if (name === "--copy") opts.copy.push(value);
    else if (name === "-c") opts.code.push(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!opts.code.length) throw new Error("usage: run.mjs [--lib DIR | --romfs IMAGE] [--copy DIR]... -c CODE");
  return opts;
}

function copyTree(FS, src, dst) {
  FS.mkdirTree(dst);
  for (const name of readdirSync(src)) {
    const from = join(src, name), to = dst + "/" + name;
    if (statSync(from).isDirectory()) copyTree(FS, from, to);
    else FS.writeFile(to, readFileSync(from));
  }
}

const opts = parse(process.argv.slice(2));
// The port grows its GC heap on demand: a row is the live heap (gc.mem_alloc),
// which does not depend on the heap's size.
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
if (opts.lib) copyTree(mp.FS, opts.lib, "/lib");
for (const dir of opts.copy) copyTree(mp.FS, dir, dir);
// Boards have os.urandom (ugate's context ids use it); this port has not.
let prelude = `import os, random
if not hasattr(os, "urandom"):
    os.urandom = lambda n, bits=random.getrandbits: bytes(bits(8) for _ in range(n))
del os, random
`;
if (opts.romfs) {
  const image = readFileSync(opts.romfs);
  const addr = mp._module._malloc(image.length); // C heap: not MicroPython's GC heap
  mp._module.HEAPU8.set(image, addr);
  prelude += `import sys, uctypes, vfs
vfs.mount(vfs.VfsRom(uctypes.bytearray_at(${addr}, ${image.length})), "/rom")
sys.path[2:2] = ["/rom", "/rom/lib"]
del sys, uctypes, vfs
`;
}
try {
  mp.runPython(prelude);
  for (const code of opts.code) mp.runPython(code);
} catch (err) {
  process.stderr.write(String(err.message || err) + "\n");
  process.exit(1);
}
