/** npm run test:reliability: the secrets scan and results table (secrets.test.ts) run after every other file. */
const Sequencer = require('@jest/test-sequencer').default;

module.exports = class ReliabilitySequencer extends Sequencer {
  sort(tests) {
    const last = (t) => (t.path.endsWith('secrets.test.ts') ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }
};
