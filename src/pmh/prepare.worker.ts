import { parentPort } from 'node:worker_threads';
import { prepareRecords } from './pmh.prepare.js';
import type { PrepareRequest, PrepareResponse } from './prepare-pool.js';

// Prepares records (HMAC, JSON, AES-GCM) off the main thread: see PreparePool.
parentPort?.on('message', (req: PrepareRequest) => {
  let res: PrepareResponse;
  try {
    const keys = {
      dataKey: Buffer.from(req.keys.dataKey),
      blindIndexKey: Buffer.from(req.keys.blindIndexKey),
      digestKey: Buffer.from(req.keys.digestKey),
    };
    res = { id: req.id, prepared: prepareRecords(req.tenantCode, keys, req.records) };
  } catch (err) {
    res = { id: req.id, error: (err as Error).name };
  }
  parentPort?.postMessage(res);
});
