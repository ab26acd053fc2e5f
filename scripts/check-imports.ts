/**
 * Checks the import rules of ../shared/STYLE.md over src/:
 *  1. no import cycles (value imports; `import type` is erased and ignored);
 *  2. a context imports another only through its index.ts — except the shared kits
 *     (db/, config/, gateway/http/), which any context may use directly.
 * Exit 1 with the offending imports listed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve('src');
const KITS = ['db/', 'config/', 'gateway/http/', 'validation/'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function contextOf(rel: string): string {
  const parts = rel.split('/');
  if ((parts[0] === 'intermediate' || parts[0] === 'sim') && parts.length > 2)
    return `${parts[0]}/${parts[1]}`;
  return parts.length > 1 ? (parts[0] as string) : '(root)';
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]/gm;
const graph = new Map<string, string[]>();
const problems: string[] = [];

for (const file of files(ROOT)) {
  const rel = path.relative(ROOT, file);
  const text = readFileSync(file, 'utf8');
  const edges: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const typeOnly = Boolean(m[2]);
    const target = path.relative(
      ROOT,
      path.resolve(path.dirname(file), (m[3] as string).replace(/\.js$/, '.ts')),
    );
    const from = contextOf(rel);
    const to = contextOf(target);
    if (from !== to && !KITS.some((k) => target.startsWith(k)) && !target.endsWith('index.ts')) {
      problems.push(`${rel} imports ${target}: use ${to}/index.ts`);
    }
    if (!typeOnly) edges.push(target);
  }
  graph.set(rel, edges);
}

const state = new Map<string, 'open' | 'done'>();
const stack: string[] = [];
function visit(node: string): void {
  state.set(node, 'open');
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 'open')
      problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' → ')}`);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`imports ok: ${graph.size} modules, no cycles, contexts meet through index.ts\n`);
