#!/usr/bin/env node
// Validate glTF 2.0 assets (.glb / .gltf) with the Khronos glTF-Validator.
//
// Usage: node tests/tools/validate.mjs FILE...
//
// One node start-up validates every FILE, one after another. Output is JSON Lines on
// stdout, one object per FILE, in the order given:
//   {"path": FILE, "report": <the validator's report object>}
//   {"path": FILE, "error": "<why the validator could not run on it>"}
// The second form is used when the file cannot be read or the validator rejects it
// outright (for example an unrecognisable format).
//
// External resources (buffers, images) are read from the folder of the file, with the
// URI percent-decoded; data: URIs are decoded by the validator itself. The report is
// complete (maxIssues 0 = unlimited) and carries no timestamp, so it is reproducible.
//
// Exit status: 0 when the validator ran on every file, whatever it found; 2 on a usage
// error (no FILE given).

import { readFile } from 'node:fs/promises';
import path from 'node:path';

import validator from 'gltf-validator';

function formatOf(file) {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.glb') return 'glb';
  if (ext === '.gltf') return 'gltf';
  return undefined; // let the validator detect it from the first byte
}

async function validateFile(file) {
  const full = path.resolve(file);
  const folder = path.dirname(full);
  const data = new Uint8Array(await readFile(full));
  return validator.validateBytes(data, {
    uri: path.basename(full),
    format: formatOf(full),
    maxIssues: 0,
    writeTimestamp: false,
    externalResourceFunction: async (uri) =>
      new Uint8Array(await readFile(path.resolve(folder, decodeURIComponent(uri)))),
  });
}

function reason(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

async function main(files) {
  if (files.length === 0) {
    process.stderr.write('usage: node validate.mjs FILE...\n');
    return 2;
  }
  for (const file of files) {
    let line;
    try {
      line = { path: file, report: await validateFile(file) };
    } catch (err) {
      line = { path: file, error: reason(err) };
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
