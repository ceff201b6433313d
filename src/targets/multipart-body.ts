import { randomBytes } from 'node:crypto';

/**
 * A multipart/form-data body built as one buffer: text fields, then one file part. FormData and Blob
 * cost a small upload more than its bytes (a Blob, a web stream and a transfer per part); this is
 * the same wire format (RFC 7578) in one allocation.
 */
export function multipartBody(fields: Record<string, string | undefined>, file: { name: string; data: Uint8Array }): { body: Uint8Array; contentType: string } {
  const boundary = `----ferry${randomBytes(12).toString('hex')}`;
  // Names and the filename are quoted strings: a quote or a line break in them is percent-encoded, as browsers do.
  const quoted = (s: string): string => s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(file.name)}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const start = Buffer.from(head, 'utf8');
  const end = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const body = Buffer.allocUnsafe(start.length + file.data.length + end.length);
  start.copy(body, 0);
  body.set(file.data, start.length);
  end.copy(body, start.length + file.data.length);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
