import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAndKey, createPrivateCa, issueCertificate } from '../../../src/crypto/index.js';
import { CircuitBreaker } from '../../../src/gateway/http/circuit-breaker.js';
import {
  createRemotePmhDispatcher,
  publicRegistrationRecordSchema,
  RemotePmhClient,
  toPublicRecord,
} from '../../../src/gateway/remote-pmh/index.js';
import {
  withInsurerCheckDigit,
  withLuhnCheckDigit,
  withMyNumberCheckDigit,
  withRecipientCheckDigit,
} from '../../../src/japanese/index.js';
import { type RegistrationRecord, registrationRecordSchema } from '../../../src/pmh/index.js';

const deleteRecord: RegistrationRecord = registrationRecordSchema.parse({
  modificationSeg: '2',
  myNumber: withMyNumberCheckDigit('73519264802'),
  orgSpecificCertificateTypeId: 'JIRITSUSEISHIN',
});

describe('RemotePmhClient over mutual TLS', () => {
  let ca: CertificateAndKey;
  let otherCa: CertificateAndKey;
  let client: CertificateAndKey;
  let server: Server;
  let baseUrl: string;
  let requests = 0;
  const dispatchers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    ca = createPrivateCa({ commonName: 'Remote PMH Test CA' });
    otherCa = createPrivateCa({ commonName: 'Some Other CA' });
    const serverCert = issueCertificate(ca, { commonName: 'remote-pmh', usage: 'server' });
    client = issueCertificate(ca, { commonName: 'gateway', usage: 'client' });
    server = createServer(
      {
        key: serverCert.keyPem,
        cert: serverCert.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        requests++;
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ results: [{ index: 0, subjectId: null, outcome: 'not-found' }] }));
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/pmh/v1`;
  });

  afterAll(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function clientWith(tls: { ca?: string; cert?: string; key?: string }) {
    const dispatcher = createRemotePmhDispatcher(baseUrl, { tls });
    dispatchers.push(dispatcher);
    return new RemotePmhClient({
      baseUrl,
      dispatcher,
      timeoutMs: 5_000,
      breaker: new CircuitBreaker({ failureThreshold: 1_000 }),
    });
  }

  const send = (c: RemotePmhClient) =>
    c.postRegistrationTasks({ idempotencyKey: 'tls-1', records: [deleteRecord] });

  it('delivers when the client trusts the CA and presents a certificate it issued', async () => {
    const answer = await send(clientWith({ ca: ca.certPem, cert: client.certPem, key: client.keyPem }));
    expect(answer).toEqual({
      kind: 'results',
      results: [{ index: 0, subjectId: null, outcome: 'not-found' }],
    });
  });

  it("asks for a retry naming only the TLS error code when the client does not trust the server's CA", async () => {
    const before = requests;
    const answer = await send(clientWith({ ca: otherCa.certPem, cert: client.certPem, key: client.keyPem }));
    // The server sends its CA along with its certificate (OpenSSL builds the chain from `ca`).
    expect(answer).toEqual({ kind: 'retry', reason: 'connection error (SELF_SIGNED_CERT_IN_CHAIN)' });
    expect(requests, 'the server must not see the request').toBe(before);
  });

  it('asks for a retry, not a refusal, when the client presents no certificate: the server closes the socket (UND_ERR_SOCKET)', async () => {
    const before = requests;
    const answer = await send(clientWith({ ca: ca.certPem }));
    // TLS 1.3: the client's handshake completes before the server checks the client
    // certificate; the server's certificate_required alert then closes the socket under the
    // request, which undici reports as UND_ERR_SOCKET ("other side closed"). No HTTP status is
    // ever seen, so it is a transport failure like any other. The alert's own code is accepted
    // too, in case the alert wins the race on another Node version.
    expect(answer.kind).toBe('retry');
    expect(answer).toMatchObject({
      reason: expect.stringMatching(
        /^connection error \((UND_ERR_SOCKET|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET)\)$/,
      ),
    });
    expect(requests, 'the server must not see the request').toBe(before);
  });
});

describe('toPublicRecord', () => {
  const digits = (n: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
  const isoDate = fc
    .integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2040, 11, 31) })
    .map((ms) => new Date(ms).toISOString().slice(0, 10));
  const shortText = fc.constantFrom('A', '低所得2', 'x y', '  spaced  out ', '自立支援');
  const insurerAndRecipient = fc.oneof(
    fc
      .tuple(digits(5), digits(6))
      .map(([i, r]) => [withInsurerCheckDigit(`21${i}`), withRecipientCheckDigit(r)] as const),
    fc
      .tuple(
        digits(5),
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
      )
      .map(([i, r]) => [withInsurerCheckDigit(`81${i}`), r] as const),
  );
  const institution = fc.record(
    {
      institutionCode: digits(9).map(withLuhnCheckDigit),
      institutionName: fc.constantFrom('新宿メンタルクリニック', '薬局'),
      validFrom: isoDate,
      validTo: isoDate,
    },
    { requiredKeys: ['institutionCode'] },
  );
  /** ISO dates compare as strings: the earlier one is validFrom. */
  const validity = (a: string, b: string | undefined) =>
    b === undefined ? { validFrom: a } : { validFrom: [a, b].sort()[0], validTo: [a, b].sort()[1] };
  const upsert = fc
    .tuple(
      fc.record(
        {
          myNumber: digits(11).map(withMyNumberCheckDigit),
          municipalityIdentityKey: fc.constantFrom('K-1', 'SJK-A0042'),
          basicFiveInfo: fc.record({
            name: fc.constantFrom('東京 花子', '  山田　太郎 '),
            nameKana: fc.constantFrom('トウキョウ ハナコ', 'ﾔﾏﾀﾞ ﾀﾛｳ', 'やまだ たろう'),
            address: fc.constantFrom('東京都新宿区西新宿二丁目8番1号'),
            dateOfBirth: fc.oneof(isoDate, fc.constantFrom('S55.4.1', '令和元年5月1日', 'H1.1.8')),
            sex: fc.constantFrom('0', '1', '2', '9'),
          }),
          orgSpecificCertificateTypeId: fc.constantFrom('JIRITSUSEISHIN', 'A1'),
          certificationSubKey: fc.constantFrom('', '01'),
          certificationName: fc.constantFrom('自立支援医療受給者証（精神通院）'),
          certificateId: fc.constantFrom('C-1'),
          segment: fc.constantFrom('1'),
          publicExpenseId: fc.constantFrom('PE-21'),
          isNotDisclosed: fc.boolean(),
          isAlwaysReimbursement: fc.constantFrom('0', '1'),
          incomeSegment: shortText,
          severeAndContinuing: fc.boolean(),
          additionalConditions: fc.constantFrom('A01;B02', ''),
          maxCopaymentAmount: fc.record(
            {
              capId: fc.constantFrom('CAP-1'),
              capKind: fc.constantFrom('monthly'),
              definition: shortText,
              rate: fc.integer({ min: 0, max: 100 }),
              amount: fc.integer({ min: 0, max: 100_000_000 }),
              count: fc.integer({ min: 0, max: 1000 }),
            },
            { requiredKeys: [] },
          ),
          designatedMedicalInstitutions: fc.array(institution, { maxLength: 3 }),
          historyKey: fc.constantFrom('H-1'),
          isDeleted: fc.boolean(),
          certificationDetail: fc.array(
            fc.record({
              displayOrder: fc.integer({ min: 0, max: 9999 }),
              itemName: fc.constantFrom('薬局', '病院又は診療所'),
              itemValue: fc.constantFrom('', '西新宿薬局'),
            }),
            { maxLength: 3 },
          ),
          forcedExpiryDate: isoDate,
        },
        {
          requiredKeys: ['myNumber', 'basicFiveInfo', 'orgSpecificCertificateTypeId', 'certificationName'],
        },
      ),
      insurerAndRecipient,
      fc.tuple(isoDate, fc.option(isoDate, { nil: undefined })),
    )
    .map(([fields, [insurer, recipient], [from, to]]) => ({
      modificationSeg: '1' as const,
      ...fields,
      medicalSubsidyInsurerNumber: insurer,
      medicalSubsidyRecipientNumber: recipient,
      ...validity(from, to),
    }));
  const remove = fc.record(
    {
      modificationSeg: fc.constant('2' as const),
      myNumber: digits(11).map(withMyNumberCheckDigit),
      municipalityIdentityKey: fc.constantFrom('K-1'),
      orgSpecificCertificateTypeId: fc.constantFrom('JIRITSUSEISHIN'),
      certificationSubKey: fc.constantFrom('', '01'),
    },
    { requiredKeys: ['modificationSeg', 'myNumber', 'orgSpecificCertificateTypeId'] },
  );

  it('always yields a record the strict public schema accepts, for every record our schema accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(upsert, remove), (input) => {
        const ours = registrationRecordSchema.safeParse(input);
        fc.pre(ours.success);
        if (!ours.success) return;
        accepted++;
        const mapped = toPublicRecord(ours.data);
        const check = publicRegistrationRecordSchema.safeParse(mapped);
        expect(check.success, JSON.stringify(check.error?.issues.map((i) => [i.code, i.path]))).toBe(true);
        expect(JSON.parse(JSON.stringify(mapped)), 'JSON round trip loses nothing').toStrictEqual(mapped);
      }),
      { numRuns: 300 },
    );
    expect(accepted, 'most generated records must pass our schema').toBeGreaterThan(200);
  });
});
