/** Jest runs the TypeScript sources as native ESM (node --experimental-vm-modules), transformed by swc. */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "es6" },
      },
    ],
  },
  // Sources import siblings with the ".js" suffix (NodeNext); map them back to the .ts files.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/{common,control-plane,data-plane,proto,prisma,test,demo}/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/.langgraph_api/"],
  testTimeout: 60000,
  // Two test files at a time (CI has 2 cores; jest's default there is 1): end-to-end files
  // spend most of their time waiting on the processes they start. Files share nothing that
  // a parallel run could race on: each end-to-end stack binds port 0 and has its own
  // PostgreSQL schema or SQLite file, temp folders and LangGraph state folder; Redis keys
  // carry a per-test prefix or a policy's UUID.
  maxWorkers: 2,
  testSequencer: "<rootDir>/test/helpers/slow-first-sequencer.js",
};
