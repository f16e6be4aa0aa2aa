// api-client `audio` and `media` services (API spec §2.4, §2.5), with a WAV and a PNG built in code.
// The fake model transcribes, speaks and answers; the reference's fake model (fake-openai.py)
// has no audio routes, so its audio calls fail for that reason too.

import assert from "node:assert/strict";
import { conversation, createDmChannel, createRunningAgent, uniqueName, userId } from "./lib/fixtures.js";
import { png, wav } from "./lib/files.js";
import { methodTest } from "./lib/recording.js";
import { assertBase64, assertNonEmptyString, assertObject, assertSpeechResponse, assertUpload } from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

const suite = useSuite(async (target) => {
  const agentId = await createRunningAgent(target, uniqueName("Conformance Audio"));
  const user = userId();
  return { agentId, user, chat: await conversation(target, user, agentId) };
});

const speech = () => new Blob([wav()], { type: "audio/wav" });

/** The uploaded file is served at the answered url, byte for byte. */
async function assertServed(url, bytes) {
  const response = await fetch(new URL(url, suite.target.url), { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200, `GET ${url}`);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes, `the bytes served at ${url}`);
}

methodTest("audio.transcribe", "TranscriptionResponse: {text}", async () => {
  const reply = await suite.client.audio.transcribe(suite.agentId, { audio: speech(), format: "wav", language: "en" });
  assertObject(reply, "reply");
  assertNonEmptyString(reply.text, "text");
});

methodTest("audio.generateSpeech", "{audio: base64, format}", async () => {
  const reply = await suite.client.audio.generateSpeech(suite.agentId, { text: "Hello there.", voice: "alloy" });
  assertBase64(reply.audio, "audio");
  assert.equal(reply.format, "mpeg");
});

methodTest("audio.synthesizeAudioMessage", "{audio: base64, format} of a stored message", async () => {
  const reply = await suite.client.audio.synthesizeAudioMessage(suite.agentId, {
    messageId: suite.chat.reply.id,
    voice: "alloy",
    format: "mp3",
  });
  assertObject(reply, "reply");
  assertBase64(reply.audio, "audio");
  assertNonEmptyString(reply.format, "format");
});

methodTest("audio.speechConversation", "SpeechResponse: the reply's text (and audio)", async () => {
  const reply = await suite.client.audio.speechConversation(suite.agentId, {
    audio: speech(),
    format: "wav",
    language: "en",
    metadata: { source: "api-client-conformance" },
  });
  assertSpeechResponse(reply);
});

methodTest("audio.processSpeech", "SpeechResponse: the reply's text (and audio)", async () => {
  const reply = await suite.client.audio.processSpeech(suite.agentId, speech(), { source: "api-client-conformance" });
  assertSpeechResponse(reply);
});

methodTest("media.uploadAgentMedia", "MediaUploadResponse; the file is served", async () => {
  const bytes = png();
  const upload = await suite.client.media.uploadAgentMedia(suite.agentId, {
    file: new Blob([bytes], { type: "image/png" }),
    filename: "pixel.png",
    contentType: "image/png",
    metadata: { purpose: "conformance" },
  });
  assertUpload(upload, { size: bytes.length, originalName: "pixel.png" });
  assert.match(upload.url, new RegExp(`^/media/uploads/agents/${suite.agentId}/`));
  await assertServed(upload.url, bytes);
});

methodTest("media.uploadChannelMedia", "ChannelUploadResponse; the file is served", async () => {
  const channel = await createDmChannel(suite.target, suite.user, suite.agentId);
  const bytes = png();
  const upload = await suite.client.media.uploadChannelMedia(
    channel.id,
    new File([bytes], "pixel.png", { type: "image/png" }),
  );
  assertUpload(upload, { size: bytes.length, originalName: "pixel.png" });
  assert.equal(upload.type, "image/png");
  assert.match(upload.url, new RegExp(`^/media/uploads/channels/${channel.id}/`));
  await assertServed(upload.url, bytes);
});
