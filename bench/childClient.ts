import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs a benchmark's load client (`script`, a .ts file run with tsx) as a child process, so the
 * server's event loop runs only the server; resolves the JSON the client prints on its last line.
 */
export function runChildClient<T>(script: URL, args: string[]): Promise<T> {
  const argv = ['--import', 'tsx', fileURLToPath(script), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`load client exited ${code}: ${out}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}
