// A fake OpenAI-compatible model server on 127.0.0.1 for the node suites (browser, api-client).
// Zero latency, deterministic: chat completions and Responses API calls (whole or streamed; the
// 1.7.2 reference's plugin-openai uses the latter) answer one XML block that
// satisfies both the shouldRespond and the message-handler templates; embeddings are derived
// from the text's hash; speech, transcription and image generation answer fixed payloads.

import { createHash } from "node:crypto";
import { createServer } from "node:http";

/** The text every agent reply carries unless `reply` is given. */
export const FAKE_REPLY = "Hello from the fake model.";
export const FAKE_TRANSCRIPT = "Hello from the fake transcription.";
export const FAKE_API_KEY = "sk-fake-node-tests";

const DEFAULT_DIMENSIONS = 1536;

/** The XML answer of a chat completion: shouldRespond fields and the message-handler fields. */
function xmlReply(text) {
  return [
    "<response>",
    "  <name>Agent</name>",
    "  <reasoning>The user talks to me.</reasoning>",
    "  <action>RESPOND</action>",
    "  <thought>Answer briefly.</thought>",
    "  <actions>REPLY</actions>",
    "  <providers></providers>",
    `  <text>${text}</text>`,
    "</response>",
  ].join("\n");
}

/** A unit vector of `dimensions` floats seeded by `text`, so equal texts embed equally. */
function embed(text, dimensions) {
  const vector = new Array(dimensions);
  let seed = createHash("sha256").update(String(text)).digest();
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    if (i % 32 === 0 && i > 0) seed = createHash("sha256").update(seed).digest();
    const value = seed[i % 32] / 255 - 0.5;
    vector[i] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  return vector.map((value) => value * scale);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function chatCompletion(body, text, res) {
  const model = body.model ?? "fake-model";
  if (!body.stream) {
    return sendJson(res, 200, {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 0,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    });
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const event = (delta, finish) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-fake",
      object: "chat.completion.chunk",
      created: 0,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;
  res.write(event({ role: "assistant", content: "" }, null));
  // Several chunks, so streaming clients see more than one.
  for (const piece of text.match(/[\s\S]{1,24}/g) ?? []) res.write(event({ content: piece }, null));
  res.write(event({}, "stop"));
  res.end("data: [DONE]\n\n");
}

/** The Responses API (what @ai-sdk/openai v2, so plugin-openai 1.6 and the 1.7.2 reference, calls). */
function response(body, text, res) {
  const model = body.model ?? "fake-model";
  const usage = {
    input_tokens: 10,
    output_tokens: 10,
    total_tokens: 20,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  };
  const message = (status, content) => ({ type: "message", id: "msg_fake", status, role: "assistant", content });
  const item = message("completed", [{ type: "output_text", text, annotations: [] }]);
  const whole = (status, output) => ({
    id: "resp_fake",
    object: "response",
    created_at: 0,
    model,
    status,
    output,
    usage,
  });
  if (!body.stream) return sendJson(res, 200, whole("completed", [item]));
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const part = { item_id: "msg_fake", output_index: 0, content_index: 0 };
  const events = [
    { type: "response.created", response: whole("in_progress", []) },
    { type: "response.output_item.added", output_index: 0, item: message("in_progress", []) },
    ...(text.match(/[\s\S]{1,24}/g) ?? []).map((delta) => ({ type: "response.output_text.delta", ...part, delta })),
    { type: "response.output_text.done", ...part, text },
    { type: "response.output_item.done", output_index: 0, item },
    { type: "response.completed", response: whole("completed", [item]) },
  ];
  events.forEach((event, sequence_number) =>
    res.write(`event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number })}\n\n`),
  );
  res.end();
}

function embeddings(body, res) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  if (body.input === undefined) return sendJson(res, 400, { error: { message: "'input' is required" } });
  const dimensions = Number(body.dimensions) || DEFAULT_DIMENSIONS;
  sendJson(res, 200, {
    object: "list",
    data: inputs.map((input, index) => ({ object: "embedding", index, embedding: embed(input, dimensions) })),
    model: body.model ?? "fake-embedding",
    usage: { prompt_tokens: 1, total_tokens: 1 },
  });
}

function speech(body, res) {
  if (typeof body.input !== "string" || typeof body.voice !== "string") {
    return sendJson(res, 400, { error: { message: "'input' and 'voice' are required" } });
  }
  // An MPEG audio frame header (MPEG-1 layer III, 128 kbit/s, 44.1 kHz) and zero padding.
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  res.writeHead(200, { "content-type": "audio/mpeg", "content-length": frame.length });
  res.end(frame);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Starts the fake on `port` (default: an ephemeral one). `reply` overrides the text agents answer.
 * Resolves `{baseUrl, env, stats(), stop()}`; `env` points the OpenAI provider at it.
 */
export async function startFakeOpenAi({ reply = process.env.FAKE_OPENAI_REPLY ?? FAKE_REPLY, port = 0 } = {}) {
  const counts = {};
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const route = new URL(req.url, "http://fake").pathname.replace(/^\/v1/, "");
    counts[route] = (counts[route] ?? 0) + 1;
    let body = {};
    if ((req.headers["content-type"] ?? "").includes("application/json") && raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return sendJson(res, 400, { error: { message: "invalid JSON" } });
      }
    }
    switch (`${req.method} ${route}`) {
      case "GET /models":
        return sendJson(res, 200, { object: "list", data: [{ id: "fake-model", object: "model" }] });
      case "POST /chat/completions":
        return chatCompletion(body, xmlReply(reply), res);
      case "POST /responses":
        return response(body, xmlReply(reply), res);
      case "POST /embeddings":
        return embeddings(body, res);
      case "POST /audio/speech":
        return speech(body, res);
      case "POST /audio/transcriptions":
        return sendJson(res, 200, { text: FAKE_TRANSCRIPT });
      case "POST /images/generations":
        return sendJson(res, 200, { created: 0, data: [{ url: "https://images.fake/0.png" }] });
      default:
        return sendJson(res, 404, { error: { message: `no route for ${req.method} ${route}` } });
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const baseUrl = `http://127.0.0.1:${server.address().port}/v1`;
  return {
    baseUrl,
    env: { OPENAI_API_KEY: FAKE_API_KEY, OPENAI_BASE_URL: baseUrl },
    /** Requests served per route, e.g. `{"/chat/completions": 3}`. */
    stats: () => ({ ...counts }),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// `node fake-openai.js [port]` runs it alone (for manual runs of the UI against it).
if (import.meta.url === `file://${process.argv[1]}`) {
  const fake = await startFakeOpenAi({ port: Number(process.argv[2] ?? 0) });
  console.log(`fake OpenAI at ${fake.baseUrl}`);
}
