/**
 * The benchmarks' HTTP load generator: C keep-alive HTTP/1.1 connections, each sending its next
 * request only when the previous answer has fully arrived (a closed loop, no pipelining), with
 * per-request latency from the first byte written to the last byte read.
 *
 * Why not node:http's client: on this two-core machine the load client shares the cores with the
 * server and PostgreSQL, and node:http's client (agent, streams, header objects) spends ~50 µs of
 * CPU per request — CPU the server under test then lacks. Like wrk or autocannon, this writes each
 * request as one buffer on a raw socket and reads only what it must: the status line, the
 * Content-Length (or the chunked terminator) and the body's length. It still speaks real
 * HTTP/1.1 to the server — the server cannot tell it from any other client.
 */
import net from 'node:net';
import { closedLoop, type RunResult } from './webhooks/load.ts';

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpLoadResult extends RunResult {
  statuses: Map<number, number>;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** Serialises one request: request line, Host, headers, Content-Length, body. */
export function encodeRequest(port: number, r: HttpRequest): Buffer {
  const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** One keep-alive connection that answers `send(request) → status` one request at a time. */
class Connection {
  private socket: net.Socket | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private waiting: { resolve(status: number): void; reject(err: Error): void } | null = null;

  constructor(private readonly port: number) {}

  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.chunks = [];
      this.size = 0;
      this.open().write(request);
    });
  }

  close() {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): net.Socket {
    if (this.socket) return this.socket;
    const s = net.connect({ host: '127.0.0.1', port: this.port });
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => this.onData(d));
    const fail = (err?: Error) => {
      if (this.socket === s) this.socket = null;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(err ?? new Error('connection closed before the answer'));
    };
    s.on('error', fail);
    s.on('close', () => fail());
    this.socket = s;
    return s;
  }

  private onData(d: Buffer) {
    this.chunks.push(d);
    this.size += d.length;
    const buf = this.chunks.length === 1 ? d : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const end = buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let complete: boolean;
    if (length) complete = buf.length >= end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head))
      complete = buf.length >= end + 9 && buf.toString('latin1', buf.length - 5) === '0\r\n\r\n';
    else complete = true; // 204/304 and friends: no body
    if (!complete) return;
    const w = this.waiting;
    this.waiting = null;
    this.chunks = [];
    this.size = 0;
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    w?.resolve(status);
  }
}

/**
 * Sends `total` requests (`request(i)`) over `concurrency` connections in a closed loop; a request
 * succeeds when `ok(status)`. Stops at `timeLimitMs`.
 */
export async function httpLoad(opts: {
  port: number;
  total: number;
  concurrency: number;
  timeLimitMs: number;
  request: (i: number) => HttpRequest;
  ok?: (status: number) => boolean;
}): Promise<HttpLoadResult> {
  const ok = opts.ok ?? ((s) => s >= 200 && s < 300);
  const connections = Array.from({ length: opts.concurrency }, () => new Connection(opts.port));
  const free = [...connections];
  const statuses = new Map<number, number>();
  const r = await closedLoop(opts.total, opts.concurrency, opts.timeLimitMs, async (i) => {
    const bytes = encodeRequest(opts.port, opts.request(i));
    const conn = free.pop()!;
    try {
      const status = await conn.send(bytes);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      return ok(status);
    } finally {
      free.push(conn);
    }
  });
  for (const c of connections) c.close();
  return { ...r, statuses };
}
