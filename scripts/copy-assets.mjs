// `npm run build` compiles TypeScript only: this copies the files the server reads at run time (stylesheets,
// the authenticator app's static files, the demo directory's LDIF) next to the compiled code in dist/.
import { cp, readdir } from 'node:fs/promises';
import path from 'node:path';

const ASSET = /\.(css|ldif|html|js|webmanifest|svg|png)$/;

async function copyAssets(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) await copyAssets(from);
    else if (ASSET.test(entry.name)) await cp(from, path.join('dist', from));
  }
}

for (const root of ['src', 'web']) await copyAssets(root);
