#!/usr/bin/env node
// Runs the built emulator when there is one, the TypeScript sources through tsx otherwise.
const path = require('node:path');
const fs = require('node:fs');

const built = path.join(__dirname, '..', 'dist', 'emulator', 'main.js');
if (fs.existsSync(built)) {
  require(built);
} else {
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'emulator', 'main.ts'));
}
