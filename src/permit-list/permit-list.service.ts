import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type CompiledPermitList,
  compilePermitList,
  decide,
  type PermitDecision,
  type PermitQuery,
} from './decide.js';
import { type PermitListFile, parsePermitListFile } from './permit-list.schemas.js';

/** The permit list shipped with the repository (versioned; replace it through the operator API). */
export const SHIPPED_PERMIT_LIST_URL = new URL('./permit-list.v1.json', import.meta.url);

/** Raised when a permit-list file cannot be read, is not JSON, or does not pass the schema. */
export class PermitListFileError extends Error {
  override readonly name = 'PermitListFileError';
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`permit list ${source} is invalid:\n  ${issues.join('\n  ')}`);
  }
}

/**
 * Reads and validates a permit-list JSON file.
 *
 * @throws PermitListFileError naming the file and every problem (`path: message`).
 * @example const file = await loadPermitListFile(SHIPPED_PERMIT_LIST_URL);
 */
export async function loadPermitListFile(path: string | URL): Promise<PermitListFile> {
  const source = typeof path === 'string' ? path : path.pathname;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new PermitListFileError(source, [`(file): ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = parsePermitListFile(json);
  if (!parsed.ok) throw new PermitListFileError(source, parsed.issues);
  return parsed.file;
}

/** Which list is (or was) in force, for audit rows and operator answers. */
export interface PermitListVersion {
  readonly version: string;
  readonly publishedAt: string;
  /** SHA-256 (hex) of the validated file as JSON; tells two files with the same version apart. */
  readonly digest: string;
  readonly entries: number;
  readonly loadedAt: string;
  readonly loadedBy: string;
}

/** What the `onChange` hook receives: enough for one audit row (actor, action, before, after). */
export interface PermitListChange {
  readonly action: 'permit-list.load' | 'permit-list.replace';
  readonly operator: string;
  readonly at: string;
  readonly previous: PermitListVersion | null;
  readonly current: PermitListVersion;
}

/** Outcome of {@link PermitListStore.replace}: the swap, or why the file was not taken. */
export type PermitListReplaceOutcome =
  | {
      readonly replaced: true;
      readonly previous: PermitListVersion | null;
      readonly current: PermitListVersion;
    }
  | { readonly replaced: false; readonly reason: 'invalid-file'; readonly issues: readonly string[] }
  | { readonly replaced: false; readonly reason: 'same-version'; readonly current: PermitListVersion };

/** Options of {@link PermitListStore}. */
export interface PermitListStoreOptions {
  /**
   * Called for every change before it takes effect; the lead writes the audit entry here.
   * If it throws (or rejects), the change is not applied and the error propagates, so no
   * list is ever in force without its audit row.
   */
  readonly onChange?: (change: PermitListChange) => void | Promise<void>;
  /** Clock for `loadedAt` / `at`; defaults to the system clock. */
  readonly now?: () => Date;
}

/**
 * Holds the permit list in force, in memory, compiled for {@link decide}. Loads and replacements
 * are validated first, announced to `onChange` (audit), then swapped in one assignment; they run
 * one at a time, so `previous` is always the list each replacement displaced. Readers never
 * wait: `decide` uses whichever list is in force at the call.
 *
 * Source: seed Ⅲ.6 ① (the list is obtained, stored and checked at the agency server; the
 * check items follow amendments of the law — hence a runtime replace).
 * @example
 * const store = new PermitListStore({ onChange: (c) => audit.write(c) });
 * await store.load(await loadPermitListFile(SHIPPED_PERMIT_LIST_URL));
 * store.decide({ requester: '131016', provider: '130001', procedure: 'disaster-victim-ledger', dataItems: ['jsi.certificate'], on: '2025-09-01' });
 */
export class PermitListStore {
  #current: { list: CompiledPermitList; version: PermitListVersion } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #onChange: PermitListStoreOptions['onChange'];
  readonly #now: () => Date;

  constructor(options: PermitListStoreOptions = {}) {
    this.#onChange = options.onChange;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Puts a list in force at start-up (or reloads one), whatever was there before.
   * @throws PermitListFileError when the file does not pass the schema.
   */
  load(input: unknown, operator = 'system'): Promise<PermitListVersion> {
    return this.#serial(async () => {
      const parsed = parsePermitListFile(input);
      if (!parsed.ok) throw new PermitListFileError('(input)', parsed.issues);
      return this.#swap('permit-list.load', parsed.file, operator);
    });
  }

  /**
   * Replaces the list in force with a new version from an operator. Refuses an invalid file
   * (`invalid-file`, with every problem) and a file carrying the version already in force
   * (`same-version`: every version names exactly one content).
   */
  replace(input: unknown, operator: string): Promise<PermitListReplaceOutcome> {
    return this.#serial(async (): Promise<PermitListReplaceOutcome> => {
      const parsed = parsePermitListFile(input);
      if (!parsed.ok) return { replaced: false, reason: 'invalid-file', issues: parsed.issues };
      const before = this.#current?.version ?? null;
      if (before && before.version === parsed.file.version) {
        return { replaced: false, reason: 'same-version', current: before };
      }
      const current = await this.#swap('permit-list.replace', parsed.file, operator);
      return { replaced: true, previous: before, current };
    });
  }

  /** The compiled list in force. @throws Error when nothing has been loaded yet (a start-up bug). */
  list(): CompiledPermitList {
    if (!this.#current) throw new Error('permit list not loaded: call PermitListStore.load first');
    return this.#current.list;
  }

  /** The version in force, or null before the first load. */
  version(): PermitListVersion | null {
    return this.#current?.version ?? null;
  }

  /** {@link decide} against the list in force. */
  decide(request: PermitQuery): PermitDecision {
    return decide(this.list(), request);
  }

  async #swap(
    action: PermitListChange['action'],
    file: PermitListFile,
    operator: string,
  ): Promise<PermitListVersion> {
    const list = compilePermitList(file);
    const at = this.#now().toISOString();
    const version: PermitListVersion = {
      version: file.version,
      publishedAt: file.publishedAt,
      digest: createHash('sha256').update(JSON.stringify(file)).digest('hex'),
      entries: file.entries.length,
      loadedAt: at,
      loadedBy: operator,
    };
    await this.#onChange?.({
      action,
      operator,
      at,
      previous: this.#current?.version ?? null,
      current: version,
    });
    this.#current = { list, version };
    return version;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
