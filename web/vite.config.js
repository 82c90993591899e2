// Build the page into dist/. onnxruntime-web's WASM runtime (its .mjs glue and .wasm binaries) is
// copied into dist/ort/ as is and loaded from there at run time (env.wasm.wasmPaths), so its
// worker threads start from a real file and nothing comes from a CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, defaultClientConditions } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const ortDist = join(here, 'node_modules', 'onnxruntime-web', 'dist');
// the plain WASM build (no GPU) and the asyncify build that onnxruntime-web/webgpu loads
const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm',
  'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

function copyOrtRuntime() {
  return {
    name: 'copy-ort-runtime',
    apply: 'build',
    writeBundle(options) {
      const out = join(options.dir, 'ort');
      mkdirSync(out, { recursive: true });
      for (const f of ORT_FILES) copyFileSync(join(ortDist, f), join(out, f));
    },
  };
}

export default defineConfig({
  base: './',
  // resolve onnxruntime-web to its builds that load the WASM runtime from env.wasm.wasmPaths
  resolve: { conditions: [...defaultClientConditions, 'onnxruntime-web-use-extern-wasm'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 1024 },
  plugins: [copyOrtRuntime()],
});
