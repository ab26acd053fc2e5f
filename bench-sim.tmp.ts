import { registrationRecords, population } from './src/sim/population/index.js';
import { writeLinkageFile } from './src/sim/case-system/linkage-file.js';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
let t = performance.now(); let n = 0;
for (const _ of population({ seed: 1, size: 200_000 })) n++;
console.log('people/s', Math.round(n / ((performance.now() - t) / 1000)));
t = performance.now(); n = 0;
for (const _ of registrationRecords({ seed: 1, size: 200_000 })) n++;
console.log('records/s', Math.round(n / ((performance.now() - t) / 1000)));
for (const enc of ['shift_jis', 'utf-8'] as const) {
  const p = `${tmpdir()}/bench-${enc}.csv`;
  t = performance.now();
  const r = await writeLinkageFile({ path: p, subjects: 100_000, seed: 1, encoding: enc, bad: 5 });
  console.log(enc, '100k rows', ((performance.now() - t) / 1000).toFixed(2), 's', r.bytes, 'bytes', r.badRowNos);
  await rm(p);
}
const p = `${tmpdir()}/bench-1m.csv`;
t = performance.now();
const r = await writeLinkageFile({ path: p, subjects: 1_000_000, seed: 1, encoding: 'shift_jis', bad: 5 });
console.log('1M cp932', ((performance.now() - t) / 1000).toFixed(2), 's', r.bytes, 'bytes; rss MB', Math.round(process.memoryUsage().rss / 1e6));
await rm(p);
