// The official MCP TypeScript SDK's client against Hutch (McpTypeScriptClientTests runs it with node
// from artifacts/npm-tools, where the SDK is installed): `node mcp-client.mjs stdio|http`. Connects
// with the run and workspace profiles, drives the tools a model would, and prints what it saw as one
// JSON object for the test to check. Env: HUTCH_CLI, HUTCH_URL, HUTCH_API_KEY, HUTCH_AGENT.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const transportName = process.argv[2];
const env = process.env;

async function connect(profile) {
  const transport = transportName === "stdio"
    ? new StdioClientTransport({
        command: env.HUTCH_CLI,
        args: ["mcp", "--profile", profile],
        env: { HUTCH_URL: env.HUTCH_URL, HUTCH_API_KEY: env.HUTCH_API_KEY, HUTCH_AGENT: env.HUTCH_AGENT, PATH: env.PATH },
        stderr: "ignore",
      })
    : new StreamableHTTPClientTransport(new URL(`${env.HUTCH_URL}/mcp?profile=${profile}`), {
        requestInit: { headers: { Authorization: `Bearer ${env.HUTCH_API_KEY}` } },
      });
  const client = new Client({ name: "hutch-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join("");
const call = (client, name, args, options) => client.callTool({ name, arguments: args }, undefined, options);
const seen = {};

const run = await connect("run");
seen.runTools = (await run.listTools()).tools.map((t) => t.name);
seen.runResult = (await call(run, "run", { command: "echo ran; echo oops >&2; exit 3" })).structuredContent;
await run.close();

const ws = await connect("workspace");
const tools = (await ws.listTools()).tools;
seen.workspaceTools = tools.map((t) => t.name);
seen.everyToolHasSchemas = tools.every((t) => t.inputSchema?.type === "object" && t.outputSchema?.type === "object" && t.annotations && t.description?.length > 60);

const written = await call(ws, "write", { path: "hello.py", content: "print('hello from node')\n" });
seen.sandbox = written.structuredContent.sandbox;
seen.exec = (await call(ws, "exec", { command: "python3 hello.py" })).structuredContent;
seen.read = (await call(ws, "read", { path: "hello.py" })).structuredContent.content;

const big = (await call(ws, "exec", { command: "seq 1 200000" })).structuredContent;
const headEnd = big.stdout.indexOf("\n[… ");
seen.big = { stdoutBytes: big.stdoutBytes, shownChars: big.stdout.length, endsWith: big.stdout.slice(-14), headEnd };
seen.bigRest = (await call(ws, "output", { output: big.output, offset: headEnd + 1, maxBytes: 64 })).structuredContent.data;

let progress = 0;
await call(ws, "exec", { command: "for i in 1 2 3 4 5; do seq 1 1000; sleep 0.3; done" }, { onprogress: () => progress++ });
seen.progressNotifications = progress;

const missing = await call(ws, "read", { path: "no/such.txt" });
seen.error = { isError: missing.isError === true, text: text(missing) };

const abort = new AbortController();
const long = call(ws, "exec", { command: "echo $$ > /workspace/pid; exec sleep 300" }, { signal: abort.signal }).then(() => "answered", () => "rejected");
for (let i = 0; i < 200; i++) {
  if ((await call(ws, "exec", { command: "test -s /workspace/pid" })).structuredContent.exitCode === 0) break;
  await new Promise((r) => setTimeout(r, 25));
}
abort.abort();
seen.cancelledCall = await long;
let alive = true;
for (let i = 0; i < 100 && alive; i++) {
  alive = (await call(ws, "exec", { command: "kill -0 $(cat /workspace/pid) 2>/dev/null" })).structuredContent.exitCode === 0;
  if (alive) await new Promise((r) => setTimeout(r, 50));
}
seen.killedAfterCancel = !alive;
await ws.close();

process.stdout.write(JSON.stringify(seen));
process.exit(0);
