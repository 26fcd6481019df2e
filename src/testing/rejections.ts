// Why a line of a lab's upload is refused: as data (a page words it in its reader's language) and in the
// server's words (English: what the CLI, the logs and the API's `reason` carry).

/** Why a line of an upload is refused, as data: a page words it in its reader's language. */
export type RejectWhy =
  | { code: 'barcodeEmpty' | 'notResults' }
  | { code: 'barcodeBad' | 'resultBad' | 'timeBad'; value: string }
  | { code: 'ctBad'; column: string; value: string }
  | { code: 'fieldCount'; fields: number; expected: number }
  | { code: 'header'; missing: string; expected: string }
  | { code: 'notCsv'; message: string }
  | { code: 'tubeEmpty' | 'tubeUnknown'; barcode: string };

/** A refused line: its number, the server's words (what the CLI and logs show) and the same as data. */
export interface Rejection {
  line: number;
  reason: string;
  why: RejectWhy;
}

/** A refusal in the server's words (English). */
export function rejectText(w: RejectWhy): string {
  switch (w.code) {
    case 'barcodeEmpty':
      return 'barcode is empty';
    case 'barcodeBad':
      return `barcode '${w.value}' is not a tube barcode (4 to 64 letters, digits, - or _)`;
    case 'resultBad':
      return `result '${w.value}' is not positive, negative or invalid`;
    case 'ctBad':
      return `${w.column} '${w.value}' is not a Ct value between 0 and 50`;
    case 'timeBad':
      return `resulted_at '${w.value}' is not an ISO 8601 time such as 2022-04-10T14:30:00+08:00`;
    case 'fieldCount':
      return `has ${w.fields} field(s), the header has ${w.expected}`;
    case 'header':
      return `the header lacks column(s) ${w.missing}; expected ${w.expected}`;
    case 'notCsv':
      return `not valid CSV: ${w.message}`;
    case 'notResults':
      return 'send text/csv, or JSON {"results": [...]}';
    case 'tubeEmpty':
      return `tube ${w.barcode} holds no sample`;
    case 'tubeUnknown':
      return `tube ${w.barcode} was never sampled (unknown barcode)`;
  }
}

export const rejection = (line: number, why: RejectWhy, prefix = ''): Rejection => ({ line, reason: prefix + rejectText(why), why });
