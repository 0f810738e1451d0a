// temporary, deleted before handing back
import fs from 'node:fs';
import { startEmbedded } from '../test/support/embedded.js';
const settings = { shared_buffers: '512MB', max_wal_size: '4GB', fsync: true, full_page_writes: true };
const [s, t] = await Promise.all([startEmbedded({ major: 15, settings }), startEmbedded({ major: 17, settings })]);
fs.writeFileSync('/tmp/scratch-urls', `SRC=${s.url()}\nTGT=${t.url()}\n`);
console.log('ready');
const deadline = Date.now() + 50 * 60_000;
while (!fs.existsSync('/tmp/stop-scratch') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
await Promise.all([s.dispose(), t.dispose()]);
fs.rmSync('/tmp/stop-scratch', { force: true });
console.log('stopped');
