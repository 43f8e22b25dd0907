import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** A real Tollgate process (apps/server/src/main.ts) started by a test, with its output kept. */
export interface TollgateProcess {
  role: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:port for api processes. */
  url: string | null;
  output(): string;
  exited: Promise<number | null>;
  /** kill -9: no shutdown, no cleanup; its claims stay until their locks expire. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Spawns `node --import tsx main.ts` (node itself, not the tsx CLI, so signals reach the process)
 * with only the given environment, and waits until it is ready: /healthz for an api process,
 * its "worker running" line for a worker.
 */
export async function startTollgateProcess(
  role: 'api' | 'worker',
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<TollgateProcess> {
  const port = role === 'api' ? await freePort() : 0;
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, TOLLGATE_ROLE: role, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = role === 'api' ? `http://127.0.0.1:${port}` : null;
  const until = Date.now() + timeoutMs;
  let ready = false;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (!ready && !gone && Date.now() < until) {
    if (url)
      ready = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    else ready = out.includes('Tollgate worker running');
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`tollgate ${role} did not start:\n${out.slice(-4000)}`);
  }
  return {
    role,
    child,
    pid: child.pid!,
    url,
    output: () => out,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
