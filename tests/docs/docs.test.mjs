// The /docs page, in headless Chromium (Debian's): it loads with no failed request, no
// request to any other host, no script error, and shows every operation of the
// document. BASE_URL is the host under test; SCREENSHOT where to keep the picture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const screenshot = process.env.SCREENSHOT ?? "docs.png";

test("the docs page renders every operation using only this host", async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const failed = [];
    const foreign = [];
    const errors = [];
    const host = new URL(base).host;
    page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on("response", (r) => { if (r.status() >= 400) failed.push(`${r.url()}: ${r.status()}`); });
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.protocol !== "data:" && u.host !== host) foreign.push(r.url());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

    await page.goto(`${base}/docs`, { waitUntil: "networkidle" });
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    const doc = await (await fetch(`${base}/v1/openapi.json`)).json();
    const expected = Object.values(doc.paths)
      .flatMap((item) => Object.keys(item))
      .filter((m) => ["get", "post", "put", "patch", "delete"].includes(m)).length;
    const shown = await page.locator(".opblock").count();
    const title = (await page.locator(".info .title").first().textContent()) ?? "";
    await page.screenshot({ path: screenshot });

    assert.deepEqual(failed, [], "failed requests");
    assert.deepEqual(foreign, [], "requests to other hosts");
    assert.deepEqual(errors, [], "script errors");
    assert.match(title, /Task API/);
    assert.equal(shown, expected, "every operation is shown");
  } finally {
    await browser.close();
  }
});
