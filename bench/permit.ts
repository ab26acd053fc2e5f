/**
 * bench:permit — in-process throughput of the permit list's `decide()` against the plainest
 * lookup over the same requests: one `Map.get` of the composite key
 * `${requester}|${provider}|${procedure}` (built per request, as a naive implementation
 * would), and the same with the key string prepared in advance (the bare hash lookup).
 *
 *   npm run bench:permit            # 5,000,000 calls per round, median of 5 rounds
 *   BENCH_CALLS=20000000 npm run bench:permit
 *
 * The requests come from the shipped list (src/permit-list/permit-list.v1.json): 80 %
 * permitted (some with the 自動応答不可 ICD item), 20 % refused, split evenly over the five
 * reasons. Target: ≥ 1,000,000 decisions/s.
 */
import {
  compilePermitList,
  decide,
  loadPermitListFile,
  type PermitQuery,
  SHIPPED_PERMIT_LIST_URL,
} from '../src/permit-list/index.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 5_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POOL = 8192; // a power of two: the loop picks requests with `i & (POOL - 1)`

const file = await loadPermitListFile(SHIPPED_PERMIT_LIST_URL);
const list = compilePermitList(file);
const classes = new Map(file.classes.map((c) => [c.classId, c.members] as const));
const members = (ref: string) => (ref.startsWith('class:') ? (classes.get(ref.slice(6)) ?? []) : [ref]);

let state = 0x2545f491;
function rand(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;

function permitted(): PermitQuery {
  const e = pick(file.entries);
  const codes = e.dataItems.map((i) => i.code);
  const dataItems = codes.filter((_, k) => k === 0 || rand(2) === 0);
  const day = String(1 + rand(28)).padStart(2, '0');
  const month = String(1 + rand(12)).padStart(2, '0');
  return {
    requester: pick(members(e.requester)),
    provider: pick(members(e.provider)),
    procedure: e.procedure.code,
    dataItems,
    on: `${2026 + rand(3)}-${month}-${day}`,
  };
}

const REFUSALS: ReadonlyArray<() => PermitQuery> = [
  () => ({ ...permitted(), requester: pick(['270008', '230006', '271004', '999999']) }),
  () => ({
    ...permitted(),
    requester: pick(members('class:tokyo-municipalities')),
    provider: pick(['140007', '110001']),
  }),
  () => ({ ...permitted(), requester: pick(['133035', '133612', '134210']), procedure: 'public-assistance' }),
  () => {
    const q = permitted();
    return q.procedure === 'public-assistance' || q.procedure === 'china-returnee-support'
      ? { ...q, dataItems: [...q.dataItems, 'jsi.disability-icd'] }
      : { ...q, dataItems: [...q.dataItems, 'resident.tax-income'] };
  },
  () => ({ ...permitted(), on: `2024-${String(1 + rand(12)).padStart(2, '0')}-15` }),
];

const requests: PermitQuery[] = [];
for (let i = 0; i < POOL; i++) {
  const slot = i % 25; // 20 of 25 permitted, one slot for each of the five refusals
  requests.push(slot < 20 ? permitted() : (REFUSALS[slot - 20] as () => PermitQuery)());
}
const mix = new Map<string, number>();
for (const r of requests) {
  const d = decide(list, r);
  const k = d.permitted ? 'permitted' : d.reason;
  mix.set(k, (mix.get(k) ?? 0) + 1);
}

const baseline = new Map<string, unknown>();
for (const [requester, byProvider] of list.index)
  for (const [provider, byProcedure] of byProvider)
    for (const [procedure, entries] of byProcedure)
      baseline.set(`${requester}|${provider}|${procedure}`, entries);
const keys = requests.map((r) => `${r.requester}|${r.provider}|${r.procedure}`);

function runDecide(n: number): number {
  let yes = 0;
  for (let i = 0; i < n; i++) if (decide(list, requests[i & (POOL - 1)] as PermitQuery).permitted) yes++;
  return yes;
}
function runMapBuiltKey(n: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const r = requests[i & (POOL - 1)] as PermitQuery;
    if (baseline.get(`${r.requester}|${r.provider}|${r.procedure}`) !== undefined) hits++;
  }
  return hits;
}
function runMapPreparedKey(n: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (baseline.get(keys[i & (POOL - 1)] as string) !== undefined) hits++;
  return hits;
}

function opsPerSecond(run: (n: number) => number): number {
  const t0 = process.hrtime.bigint();
  const sink = run(CALLS);
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink < 0) throw new Error('unreachable');
  return (CALLS * 1e9) / ns;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const run of [runDecide, runMapBuiltKey, runMapPreparedKey]) run(1_000_000); // warm-up: let V8 optimise
const samples = { decide: [] as number[], built: [] as number[], prepared: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  samples.decide.push(opsPerSecond(runDecide));
  samples.built.push(opsPerSecond(runMapBuiltKey));
  samples.prepared.push(opsPerSecond(runMapPreparedKey));
}
const d = median(samples.decide);
const b = median(samples.built);
const p = median(samples.prepared);

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const share = [...mix].map(([k, v]) => `${k} ${((100 * v) / POOL).toFixed(0)} %`).join(', ');
process.stdout.write(
  [
    `permit list ${list.version}: ${list.triples} triples; ${POOL} requests (${share})`,
    `${fmt(CALLS)} calls per round, median of ${ROUNDS} rounds, node ${process.version}`,
    `decide():                      ${fmt(d)} decisions/s`,
    `baseline Map.get (key built):  ${fmt(b)} ops/s   ratio decide/baseline ${(d / b).toFixed(2)}`,
    `baseline Map.get (key ready):  ${fmt(p)} ops/s   ratio decide/baseline ${(d / p).toFixed(2)}`,
    `target ≥ 1,000,000 decisions/s: ${d >= 1_000_000 ? 'met' : 'NOT met'}`,
    '',
    '| decide() decisions/s | Map.get, key built ops/s | ratio | Map.get, key ready ops/s | ratio | calls × rounds | node | date |',
    '|---:|---:|---:|---:|---:|---:|---|---|',
    `| ${fmt(d)} | ${fmt(b)} | ${(d / b).toFixed(2)} | ${fmt(p)} | ${(d / p).toFixed(2)} | ${fmt(CALLS)} × ${ROUNDS} | ${process.version} | ${new Date().toISOString().slice(0, 10)} |`,
    '',
  ].join('\n'),
);
if (d < 1_000_000) process.exitCode = 1;
