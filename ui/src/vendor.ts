/**
 * Browser assets that ship in npm packages and that the UI serves itself, so a call never fetches
 * code or models from a CDN: the background blur's segmentation model and WebAssembly (MediaPipe
 * selfie segmentation) and the noise suppressor's audio worklet and WebAssembly (RNNoise). Only
 * the files listed here are served, by name, from the installed packages.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Where the browser finds them (ui/src/lib/effects reads the same names). */
export const VENDOR_PREFIX = '/vendor/';

const SEGMENTATION_DIR = dirname(require.resolve('@mediapipe/selfie_segmentation'));
const NOISE_DIR = dirname(require.resolve('@sapphi-red/web-noise-suppressor'));

/** URL path under VENDOR_PREFIX → file. */
const FILES = new Map<string, string>([
  ...[
    'selfie_segmentation.js',
    'selfie_segmentation.binarypb',
    'selfie_segmentation.tflite',
    'selfie_segmentation_landscape.tflite',
    'selfie_segmentation_solution_simd_wasm_bin.js',
    'selfie_segmentation_solution_simd_wasm_bin.wasm',
    'selfie_segmentation_solution_simd_wasm_bin.data',
    'selfie_segmentation_solution_wasm_bin.js',
    'selfie_segmentation_solution_wasm_bin.wasm',
  ].map((file) => [`selfie-segmentation/${file}`, join(SEGMENTATION_DIR, file)] as const),
  ['noise-suppressor/rnnoise-worklet.js', join(NOISE_DIR, 'rnnoise', 'workletProcessor.js')],
  ['noise-suppressor/rnnoise.wasm', join(NOISE_DIR, 'rnnoise.wasm')],
  ['noise-suppressor/rnnoise_simd.wasm', join(NOISE_DIR, 'rnnoise_simd.wasm')],
]);

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  wasm: 'application/wasm',
};

/**
 * Answers a GET or HEAD for one of the listed files (true), or leaves the request alone (false).
 * A path under the prefix that is not listed is a 404 here, never a page.
 */
export async function serveVendor(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const path = new URL(req.url ?? '/', 'http://ui').pathname;
  if (!path.startsWith(VENDOR_PREFIX)) {
    return false;
  }
  const file = FILES.get(path.slice(VENDOR_PREFIX.length));
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return true;
  }
  const { size } = await stat(file);
  res.writeHead(200, {
    'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
    'content-length': size,
    // The package versions are pinned: a day is safe, and a new version comes with a new build.
    'cache-control': 'public, max-age=86400',
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve, reject) => {
    createReadStream(file).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
  });
  return true;
}
