import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { socketTarget } from '../../src/db/socket-target.js';

describe('socketTarget', () => {
  it('turns a libpq-style socket URL into a socket path and a URL postgres.js accepts', () => {
    expect(socketTarget('postgres://app@/pmh?host=/var/run/postgresql')).toEqual({
      url: 'postgres://app@localhost/pmh',
      path: '/var/run/postgresql/.s.PGSQL.5432',
    });
    expect(socketTarget('postgresql://u:p@localhost:5433/pmh?host=%2Ftmp%2Fpg%2F&sslmode=disable')).toEqual({
      url: 'postgresql://u:p@localhost:5433/pmh?sslmode=disable',
      path: '/tmp/pg/.s.PGSQL.5433',
    });
    expect(socketTarget('postgres:///pmh?host=/tmp/pg&port=6543')).toEqual({
      url: 'postgres:///pmh',
      path: '/tmp/pg/.s.PGSQL.6543',
    });
  });

  it('leaves a TCP URL, or a host parameter that is not a directory, as it is', () => {
    for (const url of [
      'postgres://app:secret@db.internal:5432/pmh',
      'postgres://app@/pmh?host=db.internal',
      'postgres://app@/pmh?host=/tmp/pg&port=fifty',
    ]) {
      expect(socketTarget(url)).toEqual({ url });
    }
  });

  it('names the socket in the given directory and port, and drops only host and port', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom('', 'sslmode=disable', 'application_name=x'),
        (parts, port, extra) => {
          const dir = `/${parts.join('/')}`;
          const query = [`host=${encodeURIComponent(dir)}`, `port=${port}`, extra].filter(Boolean).join('&');
          const target = socketTarget(`postgres://app@/pmh?${query}`);
          expect(target.path).toBe(`${dir}/.s.PGSQL.${port}`);
          const params = new URL(target.url).searchParams;
          expect(params.has('host') || params.has('port')).toBe(false);
          if (extra) expect(params.toString()).toBe(extra);
        },
      ),
    );
  });
});

describe.skipIf(!process.env.DATABASE_URL)('openDatabase on PostgreSQL', () => {
  it('opens its connections with JIT off, unless the URL asks for it', async () => {
    const url = process.env.DATABASE_URL as string;
    for (const [target, expected] of [
      [url, 'off'],
      [`${url}${url.includes('?') ? '&' : '?'}jit=on`, 'on'],
    ] as const) {
      const database = await openDatabase({ url: target });
      try {
        const [row] = await (database.sql as NonNullable<typeof database.sql>)`show jit`;
        expect(row?.jit).toBe(expected);
      } finally {
        await database.close();
      }
    }
  });
});

// On the throwaway PostgreSQL of CI (scripts/pg-throwaway.sh), which also listens on a socket
// in $PGROOT.
const tcp = process.env.DATABASE_URL;
const socketDir = process.env.PGROOT;
describe.skipIf(!tcp || !socketDir)('openDatabase over a Unix-domain socket (PostgreSQL only)', () => {
  it('connects through the socket a libpq-style URL names', async () => {
    const u = new URL(tcp as string);
    const database = await openDatabase({
      url: `postgres://${u.username}@${u.pathname}?host=${encodeURIComponent(socketDir as string)}&port=${u.port || 5432}`,
    });
    try {
      // inet_server_addr() is null on a Unix-domain socket connection.
      const sql = database.sql;
      if (!sql) throw new Error('expected postgres.js');
      const [row] = await sql`select inet_server_addr() as addr, 1 as one`;
      expect(row).toMatchObject({ addr: null, one: 1 });
    } finally {
      await database.close();
    }
  });
});
