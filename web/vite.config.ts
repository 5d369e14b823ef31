import { defineConfig } from "vite";

declare const process: { env: Record<string, string | undefined> };

// The UI is served by lwm2m-server --web-root DIR from any path: relative asset URLs, hash
// routing, one bundle, no request to any other host (no CDN, no web fonts).
// LWM2M_WEB_OUT chooses the output folder (CMake passes build/<preset>/web).
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.LWM2M_WEB_OUT ?? "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
} as never);
