// Order of test files for jest (jest.config.js testSequencer). Jest runs the files that took
// longest last time first, so no worker is left alone with a long file at the end; without
// timings from an earlier run (a fresh CI machine) it falls back to file size, and the files
// that start whole systems (end-to-end, build, LangGraph harness) — slow whatever their
// size — would be spread through the run. Then those go first, each group by size as before.
import TestSequencer from "@jest/test-sequencer";

const Sequencer = TestSequencer.default ?? TestSequencer; // (CommonJS module seen from ESM)
const STARTS_PROCESSES = /\/test\/(e2e|build|harness)\//;

export default class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((t) => t.duration != null)) return sorted;
    return [...sorted.filter((t) => STARTS_PROCESSES.test(t.path)), ...sorted.filter((t) => !STARTS_PROCESSES.test(t.path))];
  }
}
