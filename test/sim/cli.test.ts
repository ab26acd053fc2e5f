import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError } from '../../src/config/env.js';
import { CASE_SYSTEM_CLI } from '../../src/sim/case-system/upload-client.js';
import {
  type CliIo,
  type CliSpec,
  gatewayUrlFrom,
  insurerUrlFrom,
  runCli,
  UsageError,
} from '../../src/sim/cli/index.js';
import { CLINIC_CLI } from '../../src/sim/clinic/index.js';
import { INSURED_CLI } from '../../src/sim/insured/index.js';
import { PORTAL_CLI } from '../../src/sim/portal/index.js';

class Sink {
  text = '';
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

function io(argv: readonly string[], env: CliIo['env'] = {}) {
  return { argv, env, stdout: new Sink(), stderr: new Sink(), today: '2027-06-15' };
}

/** Every simulator command line, with arguments it accepts. */
const CLIS: [CliSpec<{ help: boolean }>, string[]][] = [
  [CASE_SYSTEM_CLI, ['--subjects', '10']],
  [CLINIC_CLI, ['--index', '3']],
  [PORTAL_CLI, ['--index', '3']],
  [INSURED_CLI, ['--people', '10']],
];

describe.each(CLIS.map(([spec, good]) => ({ command: spec.command, spec, good })))(
  'npm run $command',
  ({ spec, good }) => {
    it('answers --help and -h with its usage and exit 0, without running', async () => {
      for (const flag of ['--help', '-h']) {
        const run = io([flag]);
        let ran = false;
        const code = await runCli(
          spec,
          () => {
            ran = true;
            return 0;
          },
          { io: run },
        );
        expect(code).toBe(0);
        expect(ran).toBe(false);
        expect(run.stdout.text).toBe(spec.usage);
        expect(run.stdout.text).toContain(`npm run ${spec.command}`);
        expect(run.stderr.text).toBe('');
      }
    });

    it('refuses an unknown option with one line and exit 2, never a stack trace', async () => {
      for (const argv of [['--wat'], [...good, '--no-such-thing=1'], [...good, 'stray']]) {
        const run = io(argv);
        const code = await runCli(spec, () => 0, { io: run });
        expect(code, argv.join(' ')).toBe(2);
        expect(run.stderr.text).toMatch(
          new RegExp(`^error: .+ \\(see npm run ${spec.command} -- --help\\)\\n$`),
        );
        expect(run.stderr.text).not.toMatch(/\n\s+at /);
        expect(run.stdout.text).toBe('');
      }
      const run = io(['--wat']);
      await runCli(spec, () => 0, { io: run });
      expect(run.stderr.text).toBe(`error: unknown option --wat (see npm run ${spec.command} -- --help)\n`);
    });

    it('runs with good arguments and returns the run’s exit code', async () => {
      const run = io(good);
      expect(await runCli(spec, () => 7, { io: run })).toBe(7);
    });

    it('says how the servers are found in its help', () => {
      if (spec === INSURED_CLI) expect(spec.usage).toMatch(/PORT does not apply/);
      else expect(spec.usage).toMatch(/\$PORT/);
      if (spec === CLINIC_CLI || spec === PORTAL_CLI) expect(spec.usage).toMatch(/\$INSURER_PORT/);
    });
  },
);

describe('the servers from the environment', () => {
  it('follows PORT and INSURER_PORT (default 3000, 3001) on HOST (default 127.0.0.1)', () => {
    expect(gatewayUrlFrom({})).toBe('http://127.0.0.1:3000');
    expect(insurerUrlFrom({})).toBe('http://127.0.0.1:3001');
    expect(gatewayUrlFrom({ PORT: '3900' })).toBe('http://127.0.0.1:3900');
    expect(insurerUrlFrom({ PORT: '3900', INSURER_PORT: '3901' })).toBe('http://127.0.0.1:3901');
    expect(gatewayUrlFrom({ HOST: 'gw.internal', PORT: '80' })).toBe('http://gw.internal:80');
    expect(gatewayUrlFrom({ HOST: '0.0.0.0' })).toBe('http://127.0.0.1:3000');
    expect(gatewayUrlFrom({ HOST: '::1' })).toBe('http://[::1]:3000');
    expect(() => gatewayUrlFrom({ PORT: '70000' })).toThrow(UsageError);
    expect(() => gatewayUrlFrom({ PORT: '0' })).toThrow(/--url/);
  });

  it('gives every HTTP simulator its --url from PORT when the flag is not given', async () => {
    const env = { PORT: '3900', INSURER_PORT: '3901' };
    for (const [spec, argv] of [
      [CASE_SYSTEM_CLI, ['--subjects', '10']],
      [CLINIC_CLI, ['--index', '3']],
      [PORTAL_CLI, ['--index', '3']],
    ] as const) {
      const options = (spec as CliSpec<{ help: boolean; url?: string; insurerUrl?: string }>).parse(argv, {
        env,
        today: '2027-06-15',
      });
      expect(options.url, spec.command).toBe('http://127.0.0.1:3900');
      if (spec !== CASE_SYSTEM_CLI) expect(options.insurerUrl, spec.command).toBe('http://127.0.0.1:3901');
    }
  });

  it('defaults the date of care and the reference date to today', () => {
    const context = { env: {}, today: '2027-06-15' };
    expect(CASE_SYSTEM_CLI.parse(['--subjects', '1'], context).referenceDate).toBe('2027-06-15');
    expect(CLINIC_CLI.parse(['--index', '1'], context).date).toBe('2027-06-15');
    expect(PORTAL_CLI.parse(['--index', '1'], context).date).toBe('2027-06-15');
  });
});

describe('runCli', () => {
  const spec = CLINIC_CLI;

  it('reports a bad environment in its own words with exit 2, and an expected failure with exit 1', async () => {
    const bad = io(['--index', '1']);
    expect(
      await runCli(
        spec,
        () => {
          throw new EnvError('Invalid environment:\n  PORT: bad');
        },
        { io: bad },
      ),
    ).toBe(2);
    expect(bad.stderr.text).toBe('error: Invalid environment:\n  PORT: bad\n');

    class Missing extends Error {}
    const missing = io(['--index', '1']);
    expect(
      await runCli(
        spec,
        () => {
          throw new Missing('data/demo-credentials.json is missing');
        },
        { io: missing, expected: [Missing] },
      ),
    ).toBe(1);
    expect(missing.stderr.text).toBe('error: data/demo-credentials.json is missing\n');
  });

  it('refuses a PORT that is no port as a usage error, unless --url is given', async () => {
    const run = io(['--index', '1'], { PORT: 'eighty' });
    expect(await runCli(spec, () => 0, { io: run })).toBe(2);
    expect(run.stderr.text).toMatch(/^error: PORT must be a port number/);
    expect(
      await runCli(spec, () => 0, {
        io: io(['--index', '1', '--url', 'http://x:1', '--insurer-url', 'http://x:2'], { PORT: 'eighty' }),
      }),
    ).toBe(0);
  });

  it('lets a bug through with its stack', async () => {
    await expect(
      runCli(
        spec,
        () => {
          throw new TypeError('a bug');
        },
        { io: io(['--index', '1']) },
      ),
    ).rejects.toThrow('a bug');
  });
});

describe('the simulator CLIs', () => {
  const dir = path.resolve('src/sim');
  const clis = readdirSync(dir).flatMap((d) => {
    try {
      return [[d, readFileSync(path.join(dir, d, 'cli.ts'), 'utf8')] as const];
    } catch {
      return [];
    }
  });

  it('all go through runCli, not parseArgs of their own', () => {
    expect(clis.map(([d]) => d).sort()).toEqual(['case-system', 'clinic', 'insured', 'portal']);
    for (const [d, text] of clis) {
      expect(text, d).toMatch(/\brunCli\(/);
      expect(text, d).not.toMatch(/node:util|\bparseArgs\(/);
    }
  });
});
