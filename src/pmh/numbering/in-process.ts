import {
  type InsurerService,
  type NumberingAnswerItem,
  type NumberingPort,
  NumberingProtocolError,
  type NumberingRequestItem,
  numberingAnswerSchema,
} from '../../intermediate/insurer/index.js';

/**
 * The numbering port in process: calls the insurer service directly, but still holds its
 * answer to the wire contract (strict schema, same length, same 個人番号 at each position).
 *
 * @example
 * const port = new InProcessNumbering(insurer);
 */
export class InProcessNumbering implements NumberingPort {
  constructor(private readonly insurer: InsurerService) {}

  async requestPmhIds(batch: {
    idempotencyKey: string;
    items: readonly NumberingRequestItem[];
  }): Promise<NumberingAnswerItem[]> {
    const answer = numberingAnswerSchema.safeParse({ items: await this.insurer.requestPmhIds(batch) });
    if (!answer.success) throw new NumberingProtocolError('answer does not match the contract');
    const items = answer.data.items;
    if (
      items.length !== batch.items.length ||
      items.some((a, i) => a.myNumber !== batch.items[i]?.myNumber)
    ) {
      throw new NumberingProtocolError('answer does not belong to the request');
    }
    return items;
  }
}
