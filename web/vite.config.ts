import { defaultClientConditions, type ProxyOptions } from "vite";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The dev server forwards everything the Rust binary answers, so `npm run dev`
// gives hot reload against a real latchkey on its default port with the
// session cookie staying same-origin.
const backend = "http://127.0.0.1:8080";
const devOrigin = "http://127.0.0.1:5173";

// To latchkey, the proxied app must look like its own origin, or its CSRF check
// refuses logins. Only the dev server's own pages are vouched for: a request from
// any other origin keeps its Origin header and is judged by latchkey as usual.
const proxyAsBackend: ProxyOptions = {
  target: backend,
  configure: (proxy) => {
    proxy.on("proxyReq", (req) => {
      if (req.getHeader("origin") === devOrigin) req.setHeader("origin", backend);
    });
  },
};

export default defineConfig({
  plugins: [react()],
  resolve: {
    // @latchkey/client is a file: dependency: its "source" export is compiled
    // here from clients/js/src, so neither a build of it nor its own
    // node_modules is needed; React must still be this app's one copy.
    conditions: ["source", ...defaultClientConditions],
    dedupe: ["react", "react-dom"],
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": proxyAsBackend,
      "/healthz": backend,
      "/.well-known": backend,
    },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    restoreMocks: true,
  },
});
