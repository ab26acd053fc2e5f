import type { InsuredPersonInput } from '../../intermediate/insurer/index.js';
import { population } from '../population/index.js';

/** Options of {@link insuredPersons}. */
export interface InsuredOptions {
  seed: number | string;
  size: number;
  offset?: number;
  /** Every n-th person (index % n === n − 1) is held with a birth date one day off, so their cross-check fails. */
  mismatchEvery?: number;
}

function shiftDay(iso: string): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The insurers' view of the synthetic population: the same people (same seed, same index)
 * the case-system simulator registers, each with a 紐付番号 and an insurer number.
 *
 * @example
 * for (const p of insuredPersons({ seed: 1, size: 1000 })) …
 */
export function* insuredPersons(opts: InsuredOptions): Generator<InsuredPersonInput> {
  let index = opts.offset ?? 0;
  for (const person of population(opts)) {
    const mismatch =
      opts.mismatchEvery !== undefined && index % opts.mismatchEvery === opts.mismatchEvery - 1;
    yield {
      myNumber: person.myNumber,
      basicFiveInfo: {
        name: person.name,
        nameKana: person.nameKana,
        address: person.address,
        dateOfBirth: mismatch ? shiftDay(person.dateOfBirth) : person.dateOfBirth,
        sex: person.sex,
      },
      bindingNumber: `B${String(index).padStart(11, '0')}`,
      insurerNumber: `0613${String(index % 10_000).padStart(4, '0')}`,
    };
    index += 1;
  }
}

/**
 * Loads people in chunks through `load` (the insurer service, in process), reporting progress.
 *
 * @example
 * await loadInsured(insurer, { seed: 1, size: 20_000 });
 */
export async function loadInsured(
  insurer: { load(persons: readonly InsuredPersonInput[]): Promise<number> },
  opts: InsuredOptions,
  onProgress?: (done: number) => void,
): Promise<number> {
  let added = 0;
  let chunk: InsuredPersonInput[] = [];
  let done = 0;
  for (const p of insuredPersons(opts)) {
    chunk.push(p);
    if (chunk.length === 5000) {
      added += await insurer.load(chunk);
      done += chunk.length;
      onProgress?.(done);
      chunk = [];
    }
  }
  if (chunk.length) {
    added += await insurer.load(chunk);
    onProgress?.(done + chunk.length);
  }
  return added;
}
