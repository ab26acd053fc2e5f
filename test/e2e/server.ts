import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';

/** A gateway started as its own process (`node --single-threaded-gc --import tsx src/gateway/main.ts`) on loopback. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  token(municipalityCode?: string): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the real gateway with the given environment and waits for /readyz.
 *
 * @example
 * const server = await startServer({ DATA_DIR: dir });
 */
/**
 * A port the OS just gave out as free (bound to port 0 and released). Random ports in the
 * ephemeral range collide with outgoing connections; this does not.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer(
  /** Added to this process's environment; a variable given as `undefined` is left out. */
  env: Record<string, string | undefined>,
  options: {
    entry?: string;
    port?: number;
    portVariable?: string;
    readyPath?: string;
    /** Ready when the output matches this (a server this test's fetch cannot reach, e.g. mutual TLS). */
    readyOutput?: RegExp;
  } = {},
): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    // With the node flag it is deployed with (npm run start:prod).
    ['--single-threaded-gc', '--import', 'tsx', path.resolve(options.entry ?? 'src/gateway/main.ts')],
    {
      env: Object.fromEntries(
        Object.entries({
          ...process.env,
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          INSURER_PORT: '0',
          DEMO_INSURED: '0',
          [options.portVariable ?? 'PORT']: String(port),
          ...env,
        }).filter(([, v]) => v !== undefined),
      ),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited early:\n${out}`);
    if (options.readyOutput) {
      if (options.readyOutput.test(out)) break;
    } else {
      try {
        const res = await fetch(`${url}${options.readyPath ?? '/readyz'}`);
        if (res.ok) break;
      } catch {}
    }
    if (Date.now() > deadline) throw new Error(`gateway did not become ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    output: () => out,
    token(municipalityCode = '130001') {
      const creds = JSON.parse(
        readFileSync(path.join(env.DATA_DIR ?? 'data', 'demo-credentials.json'), 'utf8'),
      ) as {
        tenants: { municipalityCode: string; token: string }[];
      };
      const t = creds.tenants.find((x) => x.municipalityCode === municipalityCode);
      if (!t) throw new Error(`no demo tenant ${municipalityCode}`);
      return t.token;
    },
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
