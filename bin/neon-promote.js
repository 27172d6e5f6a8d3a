#!/usr/bin/env node
// In a checkout the TypeScript sources run through tsx (a stale dist/ must not answer); an installed package
// without sources runs dist/.
const path = require('node:path');
const fs = require('node:fs');

const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
if (fs.existsSync(source)) {
  require('tsx/cjs');
  require(source).main();
} else {
  require(path.join(__dirname, '..', 'dist', 'cli', 'main.js')).main();
}
