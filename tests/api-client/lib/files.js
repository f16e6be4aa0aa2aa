// Small valid media files built in code: the server sniffs magic bytes, so headers must be real.

import { gradientPng } from "../../node-support/png.js";

/** A mono 16-bit PCM WAV of `ms` milliseconds of silence at 8 kHz. */
export function wav(ms = 100) {
  const sampleRate = 8_000;
  const dataBytes = Math.round((sampleRate * ms) / 1000) * 2;
  const file = Buffer.alloc(44 + dataBytes);
  file.write("RIFF", 0, "ascii");
  file.writeUInt32LE(36 + dataBytes, 4);
  file.write("WAVE", 8, "ascii");
  file.write("fmt ", 12, "ascii");
  file.writeUInt32LE(16, 16); // fmt chunk size
  file.writeUInt16LE(1, 20); // PCM
  file.writeUInt16LE(1, 22); // mono
  file.writeUInt32LE(sampleRate, 24);
  file.writeUInt32LE(sampleRate * 2, 28); // byte rate
  file.writeUInt16LE(2, 32); // block align
  file.writeUInt16LE(16, 34); // bits per sample
  file.write("data", 36, "ascii");
  file.writeUInt32LE(dataBytes, 40);
  return file;
}

/** A tiny valid PNG. */
export const png = () => gradientPng(2);
