import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let child: ChildProcess | null = null;
afterAll(() => child?.kill('SIGKILL'));

async function waitFor(url: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

describe.skipIf(process.env.TEST_DB === 'postgres')('process lifecycle', () => {
  it('starts, answers /healthz, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const port = 4600 + Math.floor(Math.random() * 300);
    let output = '';
    // node itself, not the tsx CLI: the wrapper would relay signals and blur the exit code.
    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        PGLITE_DATA_DIR: 'memory://',
        TOLLGATE_DEMO: 'false',
        LOG_LEVEL: 'info',
        WORKER_POLL_INTERVAL_MS: '50',
      },
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    await waitFor(`http://127.0.0.1:${port}/healthz`, 30_000);
    expect(output).toContain(`http://127.0.0.1:${port}/docs`);

    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    // A request truly in flight: its headers reach the server, then SIGTERM, then the rest of
    // its body. Shutdown must wait for it and answer it (400: it carries no Stripe signature).
    // A fresh socket (agent: false), so no idle keep-alive connection is in play.
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/webhooks/stripe',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': '2' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{');
      setTimeout(() => {
        child!.kill('SIGTERM');
        setTimeout(() => req.end('}'), 300);
      }, 300);
    });
    expect(await answered).toBe(400);
    expect(await exited).toBe(0);
    expect(output).toContain('shutting down');
  });
});
