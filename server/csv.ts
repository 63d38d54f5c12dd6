// The one CSV writer (RFC 4180: comma, CRLF, quotes doubled) for every export (attendance, course progress,
// poll results). A text cell starting with = + - @ (or a tab or CR) gets a leading ' so that a student named
// "=HYPERLINK(...)" cannot run anything in the teacher's spreadsheet; numbers are written as they are.
export type CsvValue = string | number | null;

export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(header: string[], rows: CsvValue[][]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
