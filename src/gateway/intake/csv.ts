/**
 * One CSV record (row) of a linkage file.
 *
 * `line` is the 1-based physical line on which the record starts; line breaks inside quoted fields count,
 * so records after a multi-line field keep their real line numbers. Physical lines are counted by LF
 * (CRLF counts once; a lone CR is not a line break). `error` is present only when the record is malformed;
 * `fields` then holds a best-effort reading.
 *
 * @example
 * const record: CsvRecord = { fields: ['13101', '山田 太郎'], line: 2 };
 */
export interface CsvRecord {
  fields: string[];
  line: number;
  error?: 'unterminated-quote' | 'stray-quote';
}

/**
 * Incremental CSV parser: push decoded text as it arrives, then call `end()` once.
 *
 * @example
 * const parser = createCsvParser();
 * const records = [...parser.push('a,b\r'), ...parser.push('\n"c'), ...parser.end()];
 */
export interface CsvParser {
  /** Parses the next piece of text, which may be split anywhere, and returns the records it completed. */
  push(text: string): CsvRecord[];
  /** Signals end of input and returns the last record, if any. */
  end(): CsvRecord[];
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = 0xfeff;

const AT_FIELD = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTED_QUOTE = 3;

/**
 * Creates an incremental RFC 4180 parser.
 *
 * - Fields are separated by `,`; records end at LF or CRLF (a CR not followed by LF is data in an unquoted
 *   field). A lone CR at the very end of input is treated as a line end.
 * - Double-quoted fields may contain `,`, CR, LF and `""` (an escaped quote).
 * - Text may be pushed split anywhere: inside a quoted field, between CR and LF, between the quotes of `""`.
 * - A `"` inside an unquoted field, or text between a closing quote and the next separator, gives the record
 *   with `error: 'stray-quote'`; the stray quote is kept as data, text after a closing quote is appended to the
 *   field, and parsing resumes with the next record after the line end.
 * - A quote left open at end of input gives a final record with `error: 'unterminated-quote'` whose last
 *   field holds everything after the opening quote.
 * - Lines with zero characters (`\n` or `\r\n` alone, including a trailing line end) are skipped; a line
 *   holding only `""` is a record with one empty field.
 * - A leading U+FEFF at the start of the input is dropped.
 *
 * @example
 * const parser = createCsvParser();
 * parser.push('id,name\r\n1,"Tanaka, ');
 * // → [{ fields: ['id', 'name'], line: 1 }]
 * parser.push('Ichiro"\r\n');
 * // → [{ fields: ['1', 'Tanaka, Ichiro'], line: 2 }]
 * parser.end(); // → []
 */
export function createCsvParser(): CsvParser {
  return new IncrementalCsvParser();
}

class IncrementalCsvParser implements CsvParser {
  private state = AT_FIELD;
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private error: CsvRecord['error'] = undefined;
  /** Text of the current field from earlier pushes (unescaped content while quoted, raw text otherwise). */
  private parts: string[] = [];
  /** Content of a closed quoted field while the text up to its separator is read (normally none). */
  private closedQuoted: string | undefined = undefined;
  private started = false;

  push(text: string): CsvRecord[] {
    let s = text;
    if (!this.started && s.length > 0) {
      this.started = true;
      if (s.charCodeAt(0) === BOM) s = s.slice(1);
    }
    const out: CsvRecord[] = [];
    this.scan(s, out);
    return out;
  }

  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.state === QUOTED) {
      this.fields.push(this.parts.join(''));
      out.push({ fields: this.fields, line: this.recordLine, error: 'unterminated-quote' });
      this.fields = [];
      this.parts = [];
      this.error = undefined;
      this.state = AT_FIELD;
    } else {
      // End of input finishes the last record exactly like a line end would.
      this.scan('\n', out);
    }
    return out;
  }

  private scan(s: string, out: CsvRecord[]): void {
    const n = s.length;
    let i = 0;
    // Hot state lives in locals while scanning and is written back once at the end.
    let state = this.state;
    let fields = this.fields;
    let line = this.line;
    let recordLine = this.recordLine;
    let error = this.error;
    while (i < n) {
      if (state === AT_FIELD) {
        if (s.charCodeAt(i) === QUOTE) {
          state = QUOTED;
          i++;
          continue;
        }
        let j = i;
        let c = 0;
        for (; j < n; j++) {
          c = s.charCodeAt(j);
          if (c <= COMMA && (c === COMMA || c === LF || c === QUOTE)) break;
        }
        if (j === n) {
          this.parts.push(s.slice(i));
          state = UNQUOTED;
          break;
        }
        if (c === COMMA) {
          fields.push(s.slice(i, j));
          i = j + 1;
          continue;
        }
        if (c === LF) {
          const end = j > i && s.charCodeAt(j - 1) === CR ? j - 1 : j;
          if (end > i || fields.length > 0) {
            fields.push(s.slice(i, end));
            out.push(
              error === undefined ? { fields, line: recordLine } : { fields, line: recordLine, error },
            );
            fields = [];
            error = undefined;
          }
          line++;
          recordLine = line;
          i = j + 1;
          continue;
        }
        error = 'stray-quote';
        this.parts.push(s.slice(i, j + 1));
        state = UNQUOTED;
        i = j + 1;
        continue;
      }
      if (state === UNQUOTED) {
        let j = i;
        let c = 0;
        for (; j < n; j++) {
          c = s.charCodeAt(j);
          if (c === COMMA || c === LF) break;
          if (c === QUOTE) error = 'stray-quote';
        }
        this.parts.push(s.slice(i, j));
        if (j === n) break;
        let text = this.parts.join('');
        this.parts = [];
        if (c === LF && text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
        const quoted = this.closedQuoted;
        if (quoted !== undefined) {
          this.closedQuoted = undefined;
          if (text.length > 0) error = 'stray-quote';
          text = quoted + text;
        }
        state = AT_FIELD;
        i = j + 1;
        if (c === COMMA) {
          fields.push(text);
          continue;
        }
        if (text.length > 0 || fields.length > 0 || quoted !== undefined) {
          fields.push(text);
          out.push(error === undefined ? { fields, line: recordLine } : { fields, line: recordLine, error });
          fields = [];
          error = undefined;
        }
        line++;
        recordLine = line;
        continue;
      }
      if (state === QUOTED) {
        const q = s.indexOf('"', i);
        const piece = q === -1 ? s.slice(i) : s.slice(i, q);
        for (let k = piece.indexOf('\n'); k !== -1; k = piece.indexOf('\n', k + 1)) line++;
        if (q === -1) {
          this.parts.push(piece);
          break;
        }
        if (q + 1 === n) {
          this.parts.push(piece);
          state = QUOTED_QUOTE;
          break;
        }
        if (s.charCodeAt(q + 1) === QUOTE) {
          this.parts.push(piece, '"');
          i = q + 2;
          continue;
        }
        let value = piece;
        if (this.parts.length > 0) {
          this.parts.push(piece);
          value = this.parts.join('');
          this.parts = [];
        }
        i = q + 1;
        const c = s.charCodeAt(i);
        if (c === COMMA) {
          fields.push(value);
          state = AT_FIELD;
          i++;
        } else if (c === LF || (c === CR && s.charCodeAt(i + 1) === LF)) {
          fields.push(value);
          out.push(error === undefined ? { fields, line: recordLine } : { fields, line: recordLine, error });
          fields = [];
          error = undefined;
          line++;
          recordLine = line;
          state = AT_FIELD;
          i += c === LF ? 1 : 2;
        } else {
          this.closedQuoted = value;
          state = UNQUOTED;
        }
        continue;
      }
      if (s.charCodeAt(i) === QUOTE) {
        this.parts.push('"');
        state = QUOTED;
        i++;
      } else {
        this.closedQuoted = this.parts.join('');
        this.parts = [];
        state = UNQUOTED;
      }
    }
    this.state = state;
    this.fields = fields;
    this.line = line;
    this.recordLine = recordLine;
    this.error = error;
  }
}

const NEEDS_QUOTES = /[",\r\n]|^[ \t\uFEFF]|[ \t]$/;

/**
 * Formats one CSV row (RFC 4180) without a line ending.
 *
 * A field is quoted when it contains `,`, `"`, CR or LF, or starts or ends with a space or tab; quotes are
 * doubled. A field starting with U+FEFF is quoted too, so that a BOM-looking first field survives parsing.
 * A row made of one empty field is written as `""` (an empty line would be skipped by the parser); an empty
 * row gives `''`.
 *
 * @example
 * formatCsvRow(['13101', 'Tanaka, Ichiro', 'say "hi"']); // '13101,"Tanaka, Ichiro","say ""hi"""'
 * formatCsvRow(['']); // '""'
 */
export function formatCsvRow(fields: readonly string[]): string {
  if (fields.length === 1 && fields[0] === '') return '""';
  let row = '';
  for (let k = 0; k < fields.length; k++) {
    const field = fields[k] as string;
    if (k > 0) row += ',';
    row += NEEDS_QUOTES.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
  }
  return row;
}

/**
 * Parses a stream of decoded text into CSV records (convenience over {@link createCsvParser}).
 *
 * @example
 * for await (const record of parseCsv(decodeChunks(body, 'utf-8'))) {
 *   if (record.error) report(record.line, record.error);
 * }
 */
export async function* parseCsv(text: AsyncIterable<string>): AsyncIterable<CsvRecord> {
  const parser = createCsvParser();
  for await (const piece of text) {
    for (const record of parser.push(piece)) yield record;
  }
  for (const record of parser.end()) yield record;
}
