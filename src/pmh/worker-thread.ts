import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** tsx's ESM register API (its `import` export), found from this package wherever the process runs. */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exported = (
    require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> }
  ).exports['./esm/api']?.import.default;
  if (!exported) throw new Error('tsx does not export ./esm/api');
  return pathToFileURL(path.join(path.dirname(manifest), exported)).href;
}

/**
 * Starts a worker thread on a module next to the caller: the compiled `.js` file when running
 * from `dist/`, or the TypeScript source (loaded through tsx, resolved from this package, not
 * from the current directory) when running under tsx or vitest.
 *
 * @example
 * const worker = startWorkerThread(import.meta.url, 'prepare.worker', { workerData });
 */
export function startWorkerThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const tsx = tsxEsmApi();
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
    { ...options, eval: true },
  );
}
