/**
 * Regenerates packages/client/src/schema.ts (the client's types) from the server's OpenAPI
 * document. `npm run client:types`; a test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { openapiDocument } from './openapiDocument.ts';

export async function renderClientTypes(): Promise<string> {
  const doc = await openapiDocument();
  const ast = await openapiTS(doc as never);
  return `// Generated from the server's OpenAPI document by \`npm run client:types\`. Do not edit.\n${astToString(ast)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = fileURLToPath(new URL('../packages/client/src/schema.ts', import.meta.url));
  writeFileSync(out, await renderClientTypes());
  console.log(`wrote ${out}`);
}
