/**
 * What the gateway never repeats of what a client sent: a run of twelve digits (the shape of a
 * 個人番号) in a log line or message, and a path or pointer segment that could hold one.
 */

const TWELVE_DIGITS = /(?<![0-9])[0-9]{12}(?![0-9])/;
const TWELVE_DIGIT_RUN = new RegExp(TWELVE_DIGITS.source, 'g');
const MASK = '[redacted-12-digits]';

/**
 * The text with every run of exactly twelve digits (the shape of a 個人番号) masked: for
 * anything that repeats what a client sent (a log line, a start-up message).
 *
 * @example
 * maskTwelveDigitRuns('/api/v1/subjects/123456789012'); // '/api/v1/subjects/[redacted-12-digits]'
 */
export function maskTwelveDigitRuns(text: string): string {
  return TWELVE_DIGITS.test(text) ? text.replace(TWELVE_DIGIT_RUN, MASK) : text;
}

/** Whether the text holds a run of exactly twelve digits (which the logs would mask). */
export function hasTwelveDigitRun(text: string): boolean {
  return TWELVE_DIGITS.test(text);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path or JSON pointer with every segment that could hold a 個人番号 replaced: twelve or more
 * digits in it once percent-decoded and NFKC-normalised (so `1234-5678-9012`, `1234%205678%209012`
 * and full-width digits count too), unless it is a UUID (our own ids).
 *
 * @example
 * maskNumberSegments('/api/v1/subjects/1234-5678-9012'); // '/api/v1/subjects/[redacted]'
 */
export function maskNumberSegments(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      if (UUID.test(segment)) return segment;
      let text = segment;
      try {
        text = decodeURIComponent(segment);
      } catch {}
      return (text.normalize('NFKC').match(/[0-9]/g)?.length ?? 0) >= 12 ? '[redacted]' : segment;
    })
    .join('/');
}
