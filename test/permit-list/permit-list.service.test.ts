import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadPermitListFile,
  type PermitListChange,
  type PermitListFile,
  PermitListFileError,
  PermitListStore,
  SHIPPED_PERMIT_LIST_URL,
} from '../../src/permit-list/index.js';

const shipped = await loadPermitListFile(SHIPPED_PERMIT_LIST_URL);
const query = {
  requester: '131016',
  provider: '130001',
  procedure: 'disaster-victim-ledger',
  dataItems: ['jsi.certificate'],
  on: '2025-09-01',
};

/** The shipped list as a new version without the disaster-victim ledger entry. */
function nextVersion(version = '2025.06-1'): PermitListFile {
  const copy = structuredClone(shipped);
  copy.version = version;
  copy.entries = copy.entries.filter((e) => e.procedure.code !== 'disaster-victim-ledger');
  return copy;
}

function setup() {
  const changes: PermitListChange[] = [];
  const store = new PermitListStore({
    onChange: (c) => {
      changes.push(c);
    },
    now: () => new Date('2025-06-01T09:00:00Z'),
  });
  return { store, changes };
}

describe('loadPermitListFile', () => {
  it('Should name the file and every problem when a file is invalid', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'permit-list-'));
    t.onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...shipped, version: '', entries: [{ id: 'x' }] }));
    const err = await loadPermitListFile(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermitListFileError);
    const message = (err as Error).message;
    expect(message).toContain(bad);
    expect(message).toContain('version:');
    expect(message).toContain('entries.0.requester:');
  });

  it('Should report a file that is not JSON', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'permit-list-'));
    t.onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{ not json');
    await expect(loadPermitListFile(bad)).rejects.toThrow(PermitListFileError);
  });
});

describe('PermitListStore', () => {
  it('Should refuse to decide before a list is loaded', () => {
    expect(() => new PermitListStore().decide(query)).toThrow(/not loaded/);
  });

  it('Should load the shipped list and announce the change', async () => {
    const { store, changes } = setup();
    const version = await store.load(shipped);
    expect(version).toMatchObject({ version: shipped.version, entries: 4, loadedBy: 'system' });
    expect(version.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(changes).toEqual([
      {
        action: 'permit-list.load',
        operator: 'system',
        at: '2025-06-01T09:00:00.000Z',
        previous: null,
        current: version,
      },
    ]);
    expect(store.decide(query).permitted).toBe(true);
  });

  it('Should replace the list, return the previous version and apply the new one at once', async () => {
    const { store, changes } = setup();
    const first = await store.load(shipped);
    const outcome = await store.replace(nextVersion(), 'operator-7');
    expect(outcome).toMatchObject({
      replaced: true,
      previous: first,
      current: { version: '2025.06-1', loadedBy: 'operator-7' },
    });
    expect(changes.at(-1)).toMatchObject({
      action: 'permit-list.replace',
      operator: 'operator-7',
      previous: first,
    });
    expect(store.decide(query)).toEqual({ permitted: false, reason: 'procedure-not-permitted' });
  });

  it('Should keep the list in force when the new file is invalid, listing the problems', async () => {
    const { store, changes } = setup();
    await store.load(shipped);
    const outcome = await store.replace({ ...nextVersion(), publishedAt: 'yesterday' }, 'operator-7');
    expect(outcome.replaced).toBe(false);
    if (!outcome.replaced && outcome.reason === 'invalid-file')
      expect(outcome.issues.join('\n')).toContain('publishedAt');
    else throw new Error(`expected invalid-file, got ${JSON.stringify(outcome)}`);
    expect(changes).toHaveLength(1);
    expect(store.decide(query).permitted).toBe(true);
  });

  it('Should refuse a replacement that carries the version in force', async () => {
    const { store } = setup();
    await store.load(shipped);
    const outcome = await store.replace(nextVersion(shipped.version), 'operator-7');
    expect(outcome).toMatchObject({ replaced: false, reason: 'same-version' });
    expect(store.decide(query).permitted).toBe(true);
  });

  it('Should not apply a change whose audit hook fails', async () => {
    let fail = false;
    const store = new PermitListStore({
      onChange: async () => {
        if (fail) throw new Error('audit down');
      },
    });
    await store.load(shipped);
    fail = true;
    await expect(store.replace(nextVersion(), 'operator-7')).rejects.toThrow('audit down');
    expect(store.version()?.version).toBe(shipped.version);
    expect(store.decide(query).permitted).toBe(true);
  });

  it('Should run concurrent replacements one after the other, each displacing the one before', async () => {
    const { store } = setup();
    await store.load(shipped);
    const [a, b] = await Promise.all([
      store.replace(nextVersion('v-a'), 'op-a'),
      store.replace(nextVersion('v-b'), 'op-b'),
    ]);
    expect(a).toMatchObject({
      replaced: true,
      previous: { version: shipped.version },
      current: { version: 'v-a' },
    });
    expect(b).toMatchObject({ replaced: true, previous: { version: 'v-a' }, current: { version: 'v-b' } });
    expect(store.version()?.version).toBe('v-b');
  });
});
