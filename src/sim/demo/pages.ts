import { type Context, Hono } from 'hono';
import {
  designatedInstitutionFor,
  ENTITLEMENT_COLUMNS,
  entitlementCells,
  entitlementsOf,
  NO_ENTITLEMENTS,
  resolveCard,
  type ShownEntitlement,
  todayInJapan,
} from '../clinic/index.js';
import type { EligibilitySystem } from '../eligibility/index.js';
import { SimulatorHttpError } from '../http/index.js';
import type { Portal, PortalStore } from '../portal/index.js';
import { visitPortal } from './wiring.js';

/** What the pages drive: the simulators of {@link demoSimulators}. */
export interface SimulatorPagesDeps {
  eligibility: EligibilitySystem;
  portal: Portal;
  /** The portal's store, read to tell a resident's first use (pseudonym just created). */
  portalStore: PortalStore;
}

/** The institution code used when none is given and the card is not a demo card. */
const FALLBACK_INSTITUTION = '1312345679';

/** Escapes a value for HTML text and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Japanese label with its English in small text (both escaped). */
const label = (ja: string, en: string) => `${escapeHtml(ja)} <small>${escapeHtml(en)}</small>`;

const STYLE = `
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9;line-height:1.5}
header{background:#0b3d6b;color:#fff;padding:.6rem 1.2rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:72rem;margin:1.2rem auto;padding:0 1.2rem}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1rem 1.2rem;margin-bottom:1rem}
small{color:#5b6570;font-weight:normal}label{display:block;margin:.5rem 0}
input[type=text],input[type=date]{display:block;padding:.35rem;font-size:1rem;width:18rem;max-width:100%}
button{padding:.4rem 1rem;font-size:1rem;cursor:pointer}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{border:1px solid #d8dde3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f6}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
pre{background:#f0f2f5;padding:.8rem;overflow:auto;font-size:.85rem}.none{font-weight:600}
.error{border-color:#c62828;background:#fff5f5}.note{color:#0b3d6b;font-weight:600}
button.link{background:none;border:none;color:#0b57d0;text-decoration:underline;padding:0}
`;

function page(base: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><header><a href="${escapeHtml(base || '/')}">PMH シミュレーター <small style="color:#cfe0f0">PMH simulators</small></a></header>
<main>${body}</main></body></html>`;
}

function entitlementTable(entitlements: readonly ShownEntitlement[]): string {
  if (entitlements.length === 0)
    return `<p class="none">${escapeHtml(NO_ENTITLEMENTS)} <small>no entitlements</small></p>`;
  const head = ENTITLEMENT_COLUMNS.map(
    (c) => `<th>${escapeHtml(c.ja)}<br><small>${escapeHtml(c.en)}</small></th>`,
  );
  const rows = entitlements.map(
    (e) =>
      `<tr>${entitlementCells(e, false)
        .map((cell) => `<td>${escapeHtml(cell)}</td>`)
        .join('')}</tr>`,
  );
  return `<table><thead><tr>${head.join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summary(items: readonly [string, string, string][]): string {
  return `<dl>${items.map(([ja, en, v]) => `<dt>${label(ja, en)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

function textInput(name: string, value: string, extra = ''): string {
  return `<input type="text" name="${name}" value="${escapeHtml(value)}" ${extra}>`;
}

interface ClinicForm {
  card: string;
  consent: boolean;
  institution: string;
  date: string;
}

function clinicForm(base: string, f: ClinicForm): string {
  return `<section><h2>${label('診療受付', 'clinic reception')}</h2>
<form method="post" action="${escapeHtml(`${base}/clinic`)}">
<label>${label('マイナンバーカード（証明書シリアル番号または人物番号）', 'My Number card: certificate serial, or person index')}${textInput('card', f.card, 'required placeholder="C00000000012" autocomplete="off"')}</label>
<label><input type="checkbox" name="consent" value="1"${f.consent ? ' checked' : ''}> ${label('同意する', 'I consent to my medical-subsidy information being shown to this clinic')}</label>
<label>${label('医療機関コード', 'institution code (blank: the holder’s designated clinic in the demo data)')}${textInput('institution', f.institution, 'inputmode="numeric" placeholder="1312345679"')}</label>
<label>${label('診療日', 'date of care')}<input type="date" name="date" value="${escapeHtml(f.date)}" required></label>
<button type="submit">${label('照会する', 'look up')}</button>
</form></section>`;
}

function portalForm(base: string, card: string, date: string): string {
  return `<section><h2>${label('わたしの医療費助成', 'my medical subsidies')}</h2>
<form method="post" action="${escapeHtml(`${base}/portal`)}">
<label>${label('マイナンバーカード（証明書シリアル番号または人物番号）', 'My Number card: certificate serial, or person index')}${textInput('card', card, 'required placeholder="C00000000012" autocomplete="off"')}</label>
<label>${label('基準日', 'date')}<input type="date" name="date" value="${escapeHtml(date)}" required></label>
<button type="submit">${label('確認する', 'show')}</button>
</form></section>`;
}

/** A user-facing message for a simulator's failure: the problem code, never a stack. */
function failureSection(error: unknown): { status: 422 | 500 | 502; html: string } {
  if (error instanceof SimulatorHttpError) {
    const messages: Record<string, [string, string]> = {
      'validation-failed': [
        '入力内容に誤りがあります（医療機関コード・日付を確認してください）',
        'the hub found an input invalid',
      ],
      'linkage-key-refused': ['連携キーが受け付けられませんでした', 'the hub refused the linkage key'],
      unauthorized: [
        'シミュレーターの認証情報が受け付けられませんでした',
        'the simulator’s token was not accepted',
      ],
      forbidden: ['この操作を行う権限がありません', 'the simulator lacks the scope'],
      'not-ready': ['サービスの準備ができていません', 'a dependency is not ready; retry later'],
    };
    const [ja, en] = messages[error.code ?? ''] ?? [
      '照会中にエラーが発生しました',
      'a server answered with an error',
    ];
    return {
      status: error.status === 422 || error.status === 400 ? 422 : 502,
      html: `<section class="error"><p>${label(ja, en)}</p><p><small>problem code: <code>${escapeHtml(error.code ?? 'none')}</code> (HTTP ${escapeHtml(error.status)})</small></p></section>`,
    };
  }
  return {
    status: 500,
    html: `<section class="error"><p>${label('エラーが発生しました。時間をおいて再度お試しください', 'an unexpected error occurred')}</p></section>`,
  };
}

function inputError(ja: string, en: string): string {
  return `<section class="error"><p>${label(ja, en)}</p></section>`;
}

async function formFields(c: Context): Promise<(name: string) => string> {
  const body = await c.req.parseBody();
  return (name) => {
    const v = body[name];
    return typeof v === 'string' ? v.trim().slice(0, 200) : '';
  };
}

const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));

/** The path the pages are mounted under, from the request path and the route's own suffix. */
function baseOf(c: Context, suffix: string): string {
  const p = c.req.path;
  return p.endsWith(suffix) ? p.slice(0, p.length - suffix.length) : '';
}

/**
 * Two server-rendered pages over the simulators (seed ㉘ ㉙): a clinic terminal at
 * `/clinic` and the My Number Portal at `/portal`, with an index at `/`. Plain HTML, no
 * scripts, every value escaped; a simulator's error is shown with its problem code only.
 * Mount it anywhere (links follow the mount path), e.g. `app.route('/sim', pages)`.
 *
 * @example
 * const pages = createSimulatorPages(demoSimulators({ dataDir, hub, insurer }));
 * await pages.request('/clinic');
 */
export function createSimulatorPages(sims: SimulatorPagesDeps, clock: () => Date = () => new Date()): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
  });

  app.onError((error, c) => {
    const failure = failureSection(error);
    return c.html(page(c.req.path.replace(/\/[^/]*$/, ''), 'エラー', failure.html), failure.status);
  });

  app.get('/', (c) => {
    const base = c.req.path.replace(/\/$/, '');
    return c.html(
      page(
        base,
        'PMH シミュレーター',
        `<section><h1>${label('PMH シミュレーター', 'Public Medical Hub simulators')}</h1><ul>
<li><a href="${escapeHtml(`${base}/clinic`)}">${label('医療機関の受付端末', 'clinic terminal')}</a> — ${label(
          'カード認証と同意の後、オンライン資格確認等システムが一度限りの PMH 連携キーで医療費助成の資格を照会します（㉙）',
          'after card authentication and consent, the eligibility system looks up entitlements with a one-time linkage key',
        )}</li>
<li><a href="${escapeHtml(`${base}/portal`)}">${label('マイナポータル', 'My Number Portal')}</a> — ${label(
          '初回利用時に PMH 仮名識別子を作成・連携し、以後は仮名だけで本人の資格情報を表示します（㉘）',
          'on first use it links a pseudonym; from then on the resident sees their own entitlements by pseudonym only',
        )}</li>
</ul></section>`,
      ),
    );
  });

  app.get('/clinic', (c) => {
    const base = baseOf(c, '/clinic');
    return c.html(
      page(
        base,
        '受付端末',
        clinicForm(base, { card: '', consent: false, institution: '', date: todayInJapan(clock()) }),
      ),
    );
  });

  app.post('/clinic', async (c) => {
    const base = baseOf(c, '/clinic');
    const field = await formFields(c);
    const form: ClinicForm = {
      card: field('card'),
      consent: field('consent') !== '',
      institution: field('institution'),
      date: field('date') || todayInJapan(clock()),
    };
    // The form is shown again for the next visit; consent is asked afresh each time (seed ㉙).
    const render = (html: string, status: 200 | 400 | 422 | 500 | 502 = 200) =>
      c.html(
        page(base, '受付端末 照会結果', `${html}${clinicForm(base, { ...form, consent: false })}`),
        status,
      );
    if (form.institution && !/^\d{10}$/.test(form.institution))
      return render(inputError('医療機関コードは10桁の数字です', 'the institution code has 10 digits'), 400);
    if (!isDate(form.date))
      return render(inputError('診療日の形式が正しくありません', 'the date of care is not a date'), 400);
    const card = resolveCard(form.card);
    const institution = form.institution || designatedInstitutionFor(card) || FALLBACK_INSTITUTION;
    const fhir = field('fhir') === '1';
    let result: Awaited<ReturnType<EligibilitySystem['lookupAtClinic']>>;
    try {
      result = await sims.eligibility.lookupAtClinic({
        cardSerial: card,
        consent: form.consent,
        institutionCode: institution,
        dateOfCare: form.date,
        fhir,
      });
    } catch (error) {
      const failure = failureSection(error);
      return render(failure.html, failure.status);
    }
    const facts = summary([
      ['カード', 'card', card],
      ['医療機関コード', 'institution', institution],
      ['診療日', 'date of care', form.date],
      ['同意', 'consent', form.consent ? 'あり（given）' : 'なし（not given）'],
      ['リクエストID', 'request id', result.requestId],
    ]);
    if (fhir) {
      return render(
        `<section><h2>${label('照会結果（FHIR）', 'FHIR Bundle')}</h2>${facts}<pre>${escapeHtml(JSON.stringify(result.body, null, 2))}</pre></section>`,
      );
    }
    const hidden = (name: string, value: string) =>
      `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
    const fhirLink = `<form method="post" action="${escapeHtml(`${base}/clinic`)}">${hidden('card', card)}${
      form.consent ? hidden('consent', '1') : ''
    }${hidden('institution', institution)}${hidden('date', form.date)}${hidden('fhir', '1')}<button type="submit" class="link">${label(
      'FHIR 形式で表示',
      'view as a FHIR Bundle (a new lookup)',
    )}</button></form>`;
    return render(
      `<section><h2>${label('照会結果', 'lookup result')}</h2>${facts}${entitlementTable(entitlementsOf(result.body))}<div>${fhirLink}</div></section>`,
    );
  });

  app.get('/portal', (c) => {
    const base = baseOf(c, '/portal');
    return c.html(page(base, 'マイナポータル', portalForm(base, '', todayInJapan(clock()))));
  });

  app.post('/portal', async (c) => {
    const base = baseOf(c, '/portal');
    const field = await formFields(c);
    const typed = field('card');
    const date = field('date') || todayInJapan(clock());
    const render = (html: string, status: 200 | 400 | 422 | 500 | 502 = 200) =>
      c.html(page(base, 'マイナポータル 資格情報', `${html}${portalForm(base, typed, date)}`), status);
    if (!isDate(date))
      return render(inputError('基準日の形式が正しくありません', 'the date is not a date'), 400);
    const card = resolveCard(typed);
    let visit: Awaited<ReturnType<typeof visitPortal>>;
    try {
      visit = await visitPortal(sims, card, date);
    } catch (error) {
      const failure = failureSection(error);
      return render(failure.html, failure.status);
    }
    const use = visit.firstUse
      ? label(
          '初回利用：PMH 仮名識別子を新たに作成し、PMH に連携しました。ポータルは仮名識別子だけを保持します',
          'first use: a new pseudonym was created and linked; the portal keeps only the pseudonym',
        )
      : visit.linked
        ? label('連携済みの仮名識別子で照会しました', 'returning: the pseudonym linked before was used')
        : label('仮名識別子は作成されていません', 'no pseudonym: the card’s holder has no PMH-ID');
    return render(
      `<section><h2>${label('わたしの資格情報', 'my entitlements')}</h2>
<p class="note" data-first-use="${visit.firstUse}">${use}</p>
${summary([
  ['カード', 'card', card],
  ['基準日', 'date', date],
  ['リクエストID', 'request id', visit.requestId],
])}${entitlementTable(entitlementsOf(visit))}</section>`,
    );
  });

  return app;
}
