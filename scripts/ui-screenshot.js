// Screenshots of the Temporal Web UI for one booking: the namespace's workflow list, the
// booking's history, and its User Metadata tab (the static summary and details it was started
// with). Each page is captured once the text it should show has rendered (no fixed waits).
//
// node ui-screenshot.js <ui url> <workflow id> <out dir> [namespace]
const { chromium } = require('playwright-core');

(async () => {
  const [ui, workflowId, out, namespace = 'default'] = process.argv.slice(2);
  if (!ui || !workflowId || !out) {
    throw new Error('usage: ui-screenshot.js <ui url> <workflow id> <out dir> [namespace]');
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const within = { timeout: 60000 };
  const base = `${ui}/namespaces/${namespace}/workflows`;

  await page.goto(base);
  await page.getByText(workflowId).first().waitFor(within);
  await page.screenshot({ path: `${out}/list.png` });

  await page.goto(`${base}/${encodeURIComponent(workflowId)}`);
  await page.getByText('Event History').first().waitFor(within);
  await page.screenshot({ path: `${out}/detail.png` });

  await page.getByText('User Metadata').first().click();
  // The booking's summary reads "Tour 14:00 UTC Fri 4 Dec, agent-3, jane@…". The tab renders
  // user metadata as markdown inside sandboxed frames, so look in every frame until it shows.
  const deadline = Date.now() + within.timeout;
  let line;
  while (!line) {
    for (const frame of page.frames()) {
      const text = await frame.evaluate(() => document.body ? document.body.innerText : '').catch(() => '');
      line = text.split('\n').map((l) => l.trim()).find((l) => /^Tour \d\d:\d\d/.test(l));
      if (line) break;
    }
    if (!line && Date.now() > deadline) throw new Error('the summary never showed on the User Metadata tab');
    if (!line) await page.waitForTimeout(250);
  }
  await page.screenshot({ path: `${out}/metadata.png` });
  console.log(`summary shown: ${line}`);
  await browser.close();
})().catch((e) => {
  console.error(`ui-screenshot: ${e.message}`);
  process.exit(1);
});
