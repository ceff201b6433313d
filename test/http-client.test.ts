import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../dist/targets/http-client.js';

// A peer that takes the connection and the request, then never answers (a hung server, a dead link).
describe('HttpClient against a server that never answers', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((socket) => socket.on('data', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails a request with ETIMEDOUT and one sentence once nothing came for its timeout, instead of waiting forever', async () => {
    const client = new HttpClient(url, undefined, 300);
    const err = (await client.json('asking for its health', '/health').catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toBe(`Asking for its health on ${url} failed: the server cannot be reached (no answer in 0.3 s).`);
    const upload = (await client.json('uploading a.txt', '/upload', { method: 'POST', body: new Uint8Array(10) }).catch((e: unknown) => e)) as { code?: string };
    expect(upload.code).toBe('ETIMEDOUT');
  });
});

describe('HttpClient.whole and its cap', () => {
  let server: import('node:http').Server;
  let url = '';
  beforeAll(async () => {
    const http = await import('node:http');
    server = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.alloc(64 * 1024, 1)); // no Content-Length: the cap is found as it comes
        return;
      }
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'UNAVAILABLE', message: 'The sync directory is not the one the server started with; it refuses writes.' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops reading a file past maxBytes (body null), but always reads an error to know its code', async () => {
    const client = new HttpClient(url);
    expect((await client.whole('reading big', '/big', { maxBytes: 1000 })).body).toBeNull();
    expect((await client.whole('reading big', '/big', { maxBytes: 1 << 20 })).body?.length).toBe(64 * 1024);
    const err = (await client.whole('uploading a.txt', '/gone', { maxBytes: 5 }).catch((e: unknown) => e)) as { code?: string; serverCode?: string };
    expect(err).toMatchObject({ code: 'ENXIO', serverCode: 'UNAVAILABLE' });
  });
});
