import type { OutboxDispatcher } from './outbox.dispatcher.js';
import type { OutboxStatus } from './outbox.schemas.js';
import type { Outbox } from './outbox.service.js';

/**
 * What operators see of the outbox (`/status`, `/metrics`): backlog, counts, failures by
 * class, the circuit, and the alerts the thresholds raise. The counts scan the outbox, so a
 * result is reused for `cacheMs`, however often /metrics is scraped.
 *
 * @example
 * const status = cachedOutboxStatus({ outbox, dispatcher, circuit: () => breaker.state, alert, cacheMs: 1000 });
 * (await status()).alert; // false
 */
export function cachedOutboxStatus(deps: {
  outbox: Outbox;
  dispatcher: OutboxDispatcher;
  circuit: () => OutboxStatus['circuit'];
  alert: { depth: number; ageSeconds: number };
  cacheMs: number;
}): () => Promise<OutboxStatus> {
  const compute = async (): Promise<OutboxStatus> => {
    const [backlog, counts] = await Promise.all([deps.outbox.backlog(), deps.outbox.counts()]);
    const { alert } = deps;
    const alerts: string[] = [];
    if (backlog.depth >= alert.depth) alerts.push(`depth ${backlog.depth} >= ${alert.depth}`);
    if ((backlog.oldestAgeSeconds ?? 0) >= alert.ageSeconds)
      alerts.push(
        `oldest record waits ${Math.round(backlog.oldestAgeSeconds ?? 0)} s >= ${alert.ageSeconds} s`,
      );
    if (counts.givenUp > 0) alerts.push(`${counts.givenUp} records given up`);
    const circuit = deps.circuit();
    if (circuit !== 'closed') alerts.push(`circuit ${circuit}`);
    return {
      ...backlog,
      counts,
      failures: deps.dispatcher.failures,
      circuit,
      alert: alerts.length > 0,
      alerts,
    };
  };
  let cache: { at: number; value: Promise<OutboxStatus> } | undefined;
  return () => {
    const now = Date.now();
    if (!cache || now - cache.at >= deps.cacheMs) cache = { at: now, value: compute() };
    return cache.value;
  };
}

/**
 * The Prometheus text exposition of the outbox (remote mode); empty gauges in embedded mode.
 *
 * @example
 * prometheusText(undefined); // '# HELP pmh_outbox_depth …'
 */
export function prometheusText(outbox: OutboxStatus | undefined): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('pmh_outbox_depth', 'gauge', 'Records queued or sent to PMH and not yet answered', [
    ['', outbox?.depth ?? 0],
  ]);
  metric('pmh_outbox_oldest_age_seconds', 'gauge', 'Age of the oldest unanswered record', [
    ['', outbox?.oldestAgeSeconds ?? 0],
  ]);
  metric(
    'pmh_outbox_records',
    'gauge',
    'Records by delivery state',
    Object.entries(outbox?.counts ?? {}).map(([state, n]) => [`{state="${state}"}`, n]),
  );
  metric(
    'pmh_outbox_failed_attempts_total',
    'counter',
    'Failed delivery attempts by class since start',
    Object.entries(outbox?.failures ?? {}).map(([cls, n]) => [`{class="${cls}"}`, n]),
  );
  metric('pmh_outbox_circuit_open', 'gauge', '1 while the circuit toward PMH is not closed', [
    ['', outbox && outbox.circuit !== 'closed' ? 1 : 0],
  ]);
  metric('pmh_outbox_alert', 'gauge', '1 when a threshold (OUTBOX_ALERT_*) is crossed', [
    ['', outbox?.alert ? 1 : 0],
  ]);
  return `${lines.join('\n')}\n`;
}
