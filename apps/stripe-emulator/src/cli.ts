/**
 * stripe-emulator [--port 12111] [--host 127.0.0.1] [--snapshot state.json]
 *                 [--webhook http://127.0.0.1:3000/webhooks/stripe[,secret]]...
 * Runs until SIGINT/SIGTERM, then saves the snapshot (when given) and exits.
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.ts';
import { WebhookEndpoints } from './webhooks/dispatcher.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '12111' },
    host: { type: 'string', default: '127.0.0.1' },
    snapshot: { type: 'string' },
    webhook: { type: 'string', multiple: true },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(
    'usage: stripe-emulator [--port 12111] [--host 127.0.0.1] [--snapshot file.json] [--webhook url[,whsec_secret]]... [--verbose]',
  );
  process.exit(0);
}

const emulator = await startEmulator({
  port: Number(values.port),
  host: values.host,
  snapshotFile: values.snapshot,
  onRequest: values.verbose
    ? (e) => console.log(`${e.status} ${e.method} ${e.path} ${e.ms}ms ${decodeForLog(e.params)}`)
    : undefined,
  webhookEndpoints: (values.webhook ?? []).map((spec) => {
    const [url, secret] = spec.split(',');
    return { url: url!, secret };
  }),
});

console.log(`stripe-emulator listening on ${emulator.url}`);
for (const endpoint of emulator.ctx.store.of(WebhookEndpoints).values()) {
  console.log(`  webhook endpoint ${endpoint.url} (${endpoint.enabled_events.join(', ')})`);
}

function decodeForLog(params: string): string {
  try {
    return decodeURIComponent(params.replace(/\+/g, ' '));
  } catch {
    return params;
  }
}

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
