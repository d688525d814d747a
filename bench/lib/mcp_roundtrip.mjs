// bench/mcp.sh's client: the round trip of an `exec true` tool call through `hutch mcp` (stdio) and
// /mcp (HTTP), with the official TypeScript SDK's client, beside the same command through the plain
// HTTP API (POST /v1/sandboxes/ID/exec) in the same sandbox. Env: HUTCH_CLI, HUTCH_URL, HUTCH_API_KEY,
// HUTCH_AGENT, N (calls measured per way, after N/10 uncounted). Prints one line per way: p50 p90 p99 ms.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const env = process.env;
const n = Number(env.N || 500);

async function connect(kind) {
  const transport = kind === "stdio"
    ? new StdioClientTransport({ command: env.HUTCH_CLI, args: ["mcp"], stderr: "ignore",
        env: { HUTCH_URL: env.HUTCH_URL, HUTCH_API_KEY: env.HUTCH_API_KEY, HUTCH_AGENT: env.HUTCH_AGENT, PATH: env.PATH } })
    : new StreamableHTTPClientTransport(new URL(`${env.HUTCH_URL}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${env.HUTCH_API_KEY}` } } });
  const client = new Client({ name: "hutch-bench", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

async function time(label, once) {
  for (let i = 0; i < Math.max(10, n / 10); i++) await once();
  const samples = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))].toFixed(2);
  console.log(`${label} p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} ms (n=${n})`);
}

const exec = (client) => async () => {
  const result = await client.callTool({ name: "exec", arguments: { command: "true" } });
  if (result.isError || result.structuredContent.exitCode !== 0) throw new Error(JSON.stringify(result));
  return result.structuredContent.sandbox;
};

const stdio = await connect("stdio");
const http = await connect("http");
const sandbox = await exec(http)();
const plain = async () => {
  const response = await fetch(`${env.HUTCH_URL}/v1/sandboxes/${sandbox}/exec`, {
    method: "POST", headers: { Authorization: `Bearer ${env.HUTCH_API_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ command: "true" }),
  });
  const body = await response.json();
  if (body.exitCode !== 0) throw new Error(JSON.stringify(body));
};
for (let round = 1; round <= 2; round++) {
  await time(`round ${round}: plain HTTP API exec `, plain);
  await time(`round ${round}: MCP exec over stdio  `, exec(stdio));
  await time(`round ${round}: MCP exec over HTTP   `, exec(http));
}
await stdio.close();
await http.close();
process.exit(0);
