#!/usr/bin/env node
// First step of `npm test` and `npm run demo|dev|emulator|bench` on a fresh clone: install dependencies when they are
// missing or older than package-lock.json (npm install, not npm ci: npm's lockfile here omits other platforms' optional
// binaries, which npm ci rejects). The Temporal CLI is provisioned by the commands themselves
// (tools/temporal-cli.ts), with progress, because building it takes minutes the first time.
const { execSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.error('neon-promote: installing dependencies (npm install)...');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
