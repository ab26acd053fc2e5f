import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvRecord, createCsvParser, formatCsvRow, parseCsv } from '../../../src/gateway/intake/csv.js';

function parsePieces(pieces: readonly string[]): CsvRecord[] {
  const parser = createCsvParser();
  const records: CsvRecord[] = [];
  for (const piece of pieces) records.push(...parser.push(piece));
  records.push(...parser.end());
  return records;
}

function parseText(text: string): CsvRecord[] {
  return parsePieces([text]);
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const positions = cuts.map((cut) => cut % (text.length + 1)).sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const position of positions) {
    pieces.push(text.slice(from, position));
    from = position;
  }
  pieces.push(text.slice(from));
  return pieces;
}

async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

describe('createCsvParser', () => {
  it('splits records at LF and fields at commas', () => {
    expect(parseText('a,b,c\n1,2,3\n')).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['1', '2', '3'], line: 2 },
    ]);
  });

  it('treats CRLF as a record end and does not keep the CR', () => {
    expect(parseText('a,b\r\n1,2\r\n')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
    ]);
  });

  it('accepts CRLF and LF mixed in one file', () => {
    expect(parseText('a\r\nb\nc\r\n').map((r) => r.fields)).toEqual([['a'], ['b'], ['c']]);
  });

  it('returns the last record when the file has no trailing newline', () => {
    expect(parseText('a,b\n1,2')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
    ]);
  });

  it('keeps a comma inside a quoted field', () => {
    expect(parseText('"Tanaka, Ichiro",1\n')[0]?.fields).toEqual(['Tanaka, Ichiro', '1']);
  });

  it('unescapes doubled quotes inside a quoted field', () => {
    expect(parseText('"say ""hi""","""",""""""\n')[0]?.fields).toEqual(['say "hi"', '"', '""']);
  });

  it('keeps an embedded CRLF in a quoted field and counts it for the following line numbers', () => {
    expect(parseText('1,"first\r\nsecond",x\r\n2,y\r\n3,"a\nb\nc"\r\n4\r\n')).toEqual([
      { fields: ['1', 'first\r\nsecond', 'x'], line: 1 },
      { fields: ['2', 'y'], line: 3 },
      { fields: ['3', 'a\nb\nc'], line: 4 },
      { fields: ['4'], line: 7 },
    ]);
  });

  it('reads empty fields at the start, middle and end of a record', () => {
    expect(parseText(',a,,b,\n,\n').map((r) => r.fields)).toEqual([
      ['', 'a', '', 'b', ''],
      ['', ''],
    ]);
  });

  it('reads a trailing empty field at end of input without a newline', () => {
    expect(parseText('a,')).toEqual([{ fields: ['a', ''], line: 1 }]);
  });

  it('reads a quoted empty field', () => {
    expect(parseText('"",a,""\n')[0]?.fields).toEqual(['', 'a', '']);
  });

  it('skips empty lines (LF or CRLF) but keeps counting them', () => {
    expect(parseText('\na\r\n\r\n\nb\n\n')).toEqual([
      { fields: ['a'], line: 2 },
      { fields: ['b'], line: 5 },
    ]);
  });

  it('keeps a line of only spaces as a record', () => {
    expect(parseText(' \n')).toEqual([{ fields: [' '], line: 1 }]);
  });

  it('reads a line holding only "" as one empty field', () => {
    expect(parseText('""\r\n')).toEqual([{ fields: [''], line: 1 }]);
  });

  it('returns nothing for empty input or only newlines', () => {
    expect(parseText('')).toEqual([]);
    expect(parseText('\r\n\n')).toEqual([]);
  });

  it('drops a leading BOM in the first push only', () => {
    expect(parseText('\uFEFFa,b\n')).toEqual([{ fields: ['a', 'b'], line: 1 }]);
    expect(parsePieces(['', '\uFEFFa'])[0]?.fields).toEqual(['a']);
    expect(parsePieces(['a\n', '\uFEFFb'])[1]?.fields).toEqual(['\uFEFFb']);
    expect(parseText('a,\uFEFFb')[0]?.fields).toEqual(['a', '\uFEFFb']);
  });

  it('keeps a lone CR inside an unquoted field as data', () => {
    expect(parseText('a\rb,c\n')[0]?.fields).toEqual(['a\rb', 'c']);
  });

  it('treats a lone CR at the very end of input as a line end', () => {
    expect(parseText('a,b\r')).toEqual([{ fields: ['a', 'b'], line: 1 }]);
  });

  it('handles a push split between CR and LF', () => {
    expect(parsePieces(['a,b\r', '\nc\r', '\n'])).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['c'], line: 2 },
    ]);
    expect(parsePieces(['"q"\r', '\nc'])).toEqual([
      { fields: ['q'], line: 1 },
      { fields: ['c'], line: 2 },
    ]);
  });

  it('handles a push split between the two quotes of an escaped quote', () => {
    expect(parsePieces(['"a"', '"b"\n'])[0]?.fields).toEqual(['a"b']);
  });

  it('handles a push split right after a closing quote', () => {
    expect(parsePieces(['"a"', ',b\n'])[0]?.fields).toEqual(['a', 'b']);
    expect(parsePieces(['"a"', '\n'])[0]?.fields).toEqual(['a']);
    expect(parsePieces(['"a"'])).toEqual([{ fields: ['a'], line: 1 }]);
  });

  it('handles a push split inside a quoted field with newlines', () => {
    expect(parsePieces(['x,"a\n', 'b', '\nc",y\nz'])).toEqual([
      { fields: ['x', 'a\nb\nc', 'y'], line: 1 },
      { fields: ['z'], line: 4 },
    ]);
  });

  it('gives the same records for every way of splitting a tricky text in two or into characters', () => {
    const text = '\uFEFFid,"na,me"\r\n1,"a""b\r\nc"\r\n\r\n2,,"",x\n"q"\r\n3,a\rb\r\n';
    const expected = parseText(text);
    expect(expected).toEqual([
      { fields: ['id', 'na,me'], line: 1 },
      { fields: ['1', 'a"b\r\nc'], line: 2 },
      { fields: ['2', '', '', 'x'], line: 5 },
      { fields: ['q'], line: 6 },
      { fields: ['3', 'a\rb'], line: 7 },
    ]);
    for (let k = 0; k <= text.length; k++) {
      expect(parsePieces([text.slice(0, k), text.slice(k)])).toEqual(expected);
    }
    expect(parsePieces([...text])).toEqual(expected);
  });

  it('reports a quote in the middle of an unquoted field as stray-quote and goes on with the next line', () => {
    expect(parseText('a,b"c,d\r\ne,f\r\n')).toEqual([
      { fields: ['a', 'b"c', 'd'], line: 1, error: 'stray-quote' },
      { fields: ['e', 'f'], line: 2 },
    ]);
  });

  it('reports text after a closing quote as stray-quote and appends it to the field', () => {
    expect(parseText('1,"ab"cd,e\n2\n')).toEqual([
      { fields: ['1', 'abcd', 'e'], line: 1, error: 'stray-quote' },
      { fields: ['2'], line: 2 },
    ]);
    expect(parseText('"a" \n')[0]).toEqual({ fields: ['a '], line: 1, error: 'stray-quote' });
  });

  it('keeps line numbers right after a stray quote following a multi-line field', () => {
    expect(parseText('"a\nb"x\nnext\n')).toEqual([
      { fields: ['a\nbx'], line: 1, error: 'stray-quote' },
      { fields: ['next'], line: 3 },
    ]);
  });

  it('reports an unclosed quote at end of input as unterminated-quote on the line where the record starts', () => {
    expect(parseText('a\r\n"x\ny"\n1,"open\r\nrest,2\r\n')).toEqual([
      { fields: ['a'], line: 1 },
      { fields: ['x\ny'], line: 2 },
      { fields: ['1', 'open\r\nrest,2\r\n'], line: 4, error: 'unterminated-quote' },
    ]);
  });

  it('does not carry an error over to the next record', () => {
    const records = parseText('a"\nb\n');
    expect(records[1]).toEqual({ fields: ['b'], line: 2 });
    expect(records[1] && 'error' in records[1]).toBe(false);
  });

  it('gives the same records however arbitrary input is split (property)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'あ', ',', '"', '\r', '\n', ' '), maxLength: 60 });
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
        const whole = parseText(input);
        expect(parsePieces(splitAt(input, cuts))).toEqual(whole);
        for (let k = 1; k < whole.length; k++) {
          expect((whole[k] as CsvRecord).line).toBeGreaterThan((whole[k - 1] as CsvRecord).line);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reads back any rows written with formatCsvRow, however the text is split (property)', () => {
    // Every row has at least one field; [''] is written as '""' and so survives the skipping of empty lines.
    const unit = fc.oneof(
      fc.constantFrom(',', '"', '\r', '\n', ' ', '\t', '\uFEFF', '髙', 'ｱ', '①'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const row = fc.array(fc.string({ unit, maxLength: 8 }), { minLength: 1, maxLength: 6 });
    const rows = fc.array(fc.tuple(row, fc.constantFrom('\r\n', '\n')), { maxLength: 8 });
    fc.assert(
      fc.property(
        rows,
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (rowsWithEnds, trailing, cuts) => {
          let text = '';
          const expected: CsvRecord[] = [];
          rowsWithEnds.forEach(([fields, lineEnd], k) => {
            expected.push({ fields, line: 1 + (text.match(/\n/g)?.length ?? 0) });
            text += formatCsvRow(fields);
            if (k < rowsWithEnds.length - 1 || trailing) text += lineEnd;
          });
          expect(parsePieces(splitAt(text, cuts))).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('formatCsvRow', () => {
  it('joins plain fields with commas and adds no line ending', () => {
    expect(formatCsvRow(['13101', '山田 太郎', ''])).toBe('13101,山田 太郎,');
  });

  it('quotes fields containing a comma, quote, CR or LF and doubles the quotes', () => {
    expect(formatCsvRow(['a,b', 'say "hi"', 'x\ry', 'x\ny'])).toBe('"a,b","say ""hi""","x\ry","x\ny"');
  });

  it('quotes fields with leading or trailing spaces', () => {
    expect(formatCsvRow([' a', 'b ', 'c d'])).toBe('" a","b ",c d');
  });

  it('quotes a field starting with U+FEFF so it is not taken for a BOM', () => {
    expect(formatCsvRow(['\uFEFFa'])).toBe('"\uFEFFa"');
  });

  it('writes a row of one empty field as "" and an empty row as nothing', () => {
    expect(formatCsvRow([''])).toBe('""');
    expect(formatCsvRow(['', ''])).toBe(',');
    expect(formatCsvRow([])).toBe('');
  });
});

describe('parseCsv', () => {
  it('yields the records of a text stream split anywhere', async () => {
    const records: CsvRecord[] = [];
    for await (const record of parseCsv(fromArray(['a,"b', '\r\nc"\r', '\nd,e']))) records.push(record);
    expect(records).toEqual([
      { fields: ['a', 'b\r\nc'], line: 1 },
      { fields: ['d', 'e'], line: 3 },
    ]);
  });

  it('yields the unterminated final record', async () => {
    const records: CsvRecord[] = [];
    for await (const record of parseCsv(fromArray(['x\n"y']))) records.push(record);
    expect(records.at(-1)).toEqual({ fields: ['y'], line: 2, error: 'unterminated-quote' });
  });
});
