// SPDX-License-Identifier: BSD-3-Clause
// Real-browser test of sipcertd's self-service page (draft-jennings-
// sipping-certs §6, the authenticated out-of-band revocation): headless
// Chromium driven by playwright-core logs in with HTTP Digest, sees the
// user's AOR and certificate, takes a screenshot, revokes the certificate
// through the in-page confirmation and sees the empty state; a wrong
// password shows no certificate. Run by tests/integration/browser_test.py,
// which starts sipcertd, publishes the certificate and checks the SIP side.
//
// usage: node page_test.mjs --url https://example.test:PORT/self/
//          --user alice --aor sip:alice@example.test --sha256 HEX
//          --spki BASE64 --screenshot PATH   (password in SIPCERT_PASSWORD)
// The host of --url is mapped to 127.0.0.1; the server's certificate is
// accepted only when its public key hashes to --spki (the domain's).
// Prints PASS/FAIL lines and "N passed, N failed".

import {parseArgs} from "node:util";
import {chromium} from "playwright-core";

const {values: opt} = parseArgs({
  options: {
    url: {type: "string"},
    user: {type: "string"},
    aor: {type: "string"},
    sha256: {type: "string"},
    spki: {type: "string"},
    screenshot: {type: "string"},
    chromium: {type: "string", default: "/usr/bin/chromium"},
  },
});
const password = process.env.SIPCERT_PASSWORD;
for (const k of ["url", "user", "aor", "sha256", "spki", "screenshot"]) {
  if (!opt[k]) {
    console.error(`page_test.mjs: --${k} is required`);
    process.exit(2);
  }
}
if (!password) {
  console.error("page_test.mjs: SIPCERT_PASSWORD is not set");
  process.exit(2);
}

const WAIT_MS = 10000; // one wait for an element or an answer
const STEP_MS = 25000;
let passed = 0;
let failed = 0;

class Failure extends Error {}

function check(cond, what) {
  if (!cond) {
    throw new Failure(what);
  }
}

// Each step ends within STEP_MS, passed or failed.
async function step(name, fn) {
  const t0 = Date.now();
  let timer;
  try {
    await Promise.race([fn(), new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(
          `not done within ${STEP_MS / 1000} s`)), STEP_MS);
    })]);
    passed++;
    console.log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Failure ? e.message : e}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

// What the page may never log: a Content-Security-Policy violation (an
// inline script or style) or an uncaught exception.
function watchErrors(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push("uncaught: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content[- ]Security[- ]Policy/i
        .test(m.text())) {
      errors.push("CSP: " + m.text());
    }
  });
  return errors;
}

const host = new URL(opt.url).hostname;
const browser = await chromium.launch({
  executablePath: opt.chromium,
  headless: true,
  timeout: 30000,
  args: [
    // the test domain is this machine
    `--host-resolver-rules=MAP ${host} 127.0.0.1`,
    // trust exactly the domain certificate's key, and nothing else
    `--ignore-certificate-errors-spki-list=${opt.spki}`,
  ],
});

try {
  // 1. the wrong password: the login is refused and no certificate shows
  await step("wrong password shows no certificate", async () => {
    const ctx = await browser.newContext({
      ignoreHTTPSErrors: false,
      httpCredentials: {username: opt.user, password: password + "x"},
    });
    try {
      const page = await ctx.newPage();
      const r = await page.goto(opt.url, {waitUntil: "load"});
      check(r && r.status() === 401, `status ${r && r.status()}, want 401`);
      const text = await page.locator("body").innerText();
      check(!text.includes(opt.sha256) && !text.includes(opt.aor),
            "the refused page shows the user's data");
      check(await page.getByTestId("cert-row").count() === 0,
            "certificate rows on the refused page");
      // nor does the API, asked from the browser itself
      const api = await page.evaluate(
          (u) => fetch(u, {credentials: "same-origin"}).then((x) => x.status),
          new URL("api/certs", opt.url).href);
      check(api === 401, `api/certs answered ${api}`);
    } finally {
      await ctx.close();
    }
  });

  // 2. the right password: the AOR, one certificate, a screenshot
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: false,
    httpCredentials: {username: opt.user, password: password},
    viewport: {width: 1100, height: 760},
    locale: "en-GB",
    timezoneId: "UTC",
  });
  ctx.setDefaultTimeout(WAIT_MS);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  const row = page.locator(
      `[data-testid="cert-row"][data-sha256="${opt.sha256}"]`);

  const shown = await step("page shows the AOR and the certificate",
                           async () => {
    const r = await page.goto(opt.url, {waitUntil: "load"});
    check(r && r.status() === 200, `status ${r && r.status()}`);
    const csp = r.headers()["content-security-policy"] || "";
    check(csp.startsWith("default-src 'self'"), `CSP ${csp}`);
    await page.getByTestId("aor").filter({hasText: opt.aor})
        .waitFor({state: "visible"});
    await row.waitFor({state: "visible"});
    const rows = page.getByTestId("cert-row");
    check(await rows.count() === 1, `${await rows.count()} rows, want 1`);
    check(await page.getByTestId("empty").isHidden(),
          "the empty state shows beside a certificate");
    // the fingerprint, grouped, spells the certificate's SHA-256
    const fp = (await row.locator("code").innerText()).replace(/\s/g, "");
    check(fp === opt.sha256, `fingerprint shown ${fp}`);
    const badge = await row.getByTestId("validity").innerText();
    check(/^Expires in \d+ days$/.test(badge), `badge "${badge}"`);
    check((await row.innerText()).includes("CN=" + opt.user),
          "no subject in the row");
    const alert = await page.getByTestId("alert").textContent();
    check(alert === "", "alert: " + alert);
    // accessible names: the list item and its revoke button
    await page.getByRole("button", {name: /^Revoke the certificate of /})
        .waitFor();
  });

  await step("screenshot", async () => {
    check(shown, "the page did not show");
    await page.screenshot({path: opt.screenshot, fullPage: true});
    console.log(`screenshot: ${opt.screenshot}`);
  });

  await step("cancel keeps the certificate", async () => {
    check(shown, "the page did not show");
    await row.getByTestId("revoke").click();
    await row.getByTestId("confirm-revoke").waitFor({state: "visible"});
    check(await row.getByTestId("revoke").isHidden(),
          "Revoke still shown during the confirmation");
    await row.getByTestId("cancel-revoke").click();
    await row.getByTestId("revoke").waitFor({state: "visible"});
    check(await row.getByTestId("confirm-revoke").isHidden(),
          "the confirmation stays open");
    check(await page.getByTestId("cert-row").count() === 1,
          "the certificate went");
  });

  await step("a failed revocation shows an alert", async () => {
    check(shown, "the page did not show");
    // the server's answer replaced by a store failure, this once
    await page.route("**/self/api/revoke", (route) => route.fulfill({
      status: 500,
      contentType: "text/plain; charset=utf-8",
      body: "store unavailable\n",
    }));
    try {
      await row.getByTestId("revoke").click();
      await row.getByTestId("confirm-revoke").click();
      const alert = page.getByRole("alert");
      await alert.filter({hasText: "not revoked"}).waitFor();
      const text = await alert.innerText();
      check(text.includes("HTTP 500: store unavailable"), `alert "${text}"`);
      await row.getByTestId("revoke").waitFor({state: "visible"});
      check(await page.getByTestId("cert-row").count() === 1,
            "the certificate went");
    } finally {
      await page.unroute("**/self/api/revoke");
    }
  });

  await step("revoke with confirmation shows the empty state",
             async () => {
    check(shown, "the page did not show");
    await row.getByTestId("revoke").click();
    const answered = page.waitForResponse(
        (r) => r.url().endsWith("/self/api/revoke") &&
               r.request().method() === "POST");
    await row.getByTestId("confirm-revoke").click();
    const r = await answered;
    check(r.status() === 200, `revoke answered ${r.status()}`);
    const sent = r.request().headers();
    check(sent["x-requested-with"] === "sipcert",
          `X-Requested-With ${sent["x-requested-with"]}`);
    await page.getByTestId("empty").waitFor({state: "visible"});
    check(await page.getByTestId("cert-row").count() === 0,
          "rows after revocation");
    check((await page.getByTestId("empty").innerText())
              .includes("No certificates"), "empty state text");
    const alert = await page.getByTestId("alert").textContent();
    check(alert === "", `alert "${alert}" after the revocation`);
    const status = await page.getByRole("status").innerText();
    check(status.startsWith("Certificate revoked."), `status "${status}"`);
    // a fresh load agrees: the server no longer lists it
    await page.reload({waitUntil: "load"});
    await page.getByTestId("empty").waitFor({state: "visible"});
    check(await page.getByTestId("cert-row").count() === 0,
          "rows after reload");
  });

  await step("no CSP violation or script error", async () => {
    check(errors.length === 0, errors.join("; "));
  });
  await ctx.close();
} finally {
  await browser.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
