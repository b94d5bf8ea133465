// A static file server for dist/, for trying the dashboard against an admin on another origin
// (open the printed URL with `?api=http://127.0.0.1:50052`) and for the CORS scenario.
//   node tools/serve.mjs [--dir dist] [--port 0] [--host 127.0.0.1]
// Prints one JSON line {"event":"listening","url":"http://127.0.0.1:PORT/"} once it serves.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: new URL("../dist", import.meta.url).pathname },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const root = resolve(values.dir);
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
  if (!file.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
});
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.log(JSON.stringify({ event: "listening", url: `http://${values.host}:${port}/` }));
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
