import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The dev server forwards everything the Rust binary answers, so `npm run dev`
// gives hot reload against a real latchkey on its default port with the
// session cookie staying same-origin.
const backend = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": backend,
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
