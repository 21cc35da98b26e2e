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
  testMatch: ["<rootDir>/{control-plane,data-plane,proto,prisma,test,demo}/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/.langgraph_api/"],
  testTimeout: 60000,
};
