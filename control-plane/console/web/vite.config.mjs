// Vite builds the console's page bundle (React + urql, TSX) into ../build, which the control
// plane serves under /console/ (server.ts serves only files the build manifest names).
// No plugin: Vite's own transform (oxc) compiles TSX with React's automatic JSX runtime.
// Everything lands in files: no inline script or style, nothing inlined as data: URIs, no
// module-preload polyfill — the console's CSP (script-src 'self'; style-src 'self') holds.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/console/",
  logLevel: "warn",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "react" } },
  build: {
    outDir: fileURLToPath(new URL("../build", import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
});
