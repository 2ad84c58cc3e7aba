// Drives the built-in page (src/page/) in headless Chromium through the seed's whole flow and
// asserts what the page shows at each step. Run by tests/api/browser.rs against the real server;
// by hand:
//
//   node tests/browser/flow.mjs http://127.0.0.1:50051 [--screenshots docs/screenshots]
//
// The server must run on a fresh database (the phones below are new users) with
// SMS_PROVIDER=console (the page shows the code), RESEND_INTERVAL_SECONDS=0 and
// CODES_PER_PHONE=2 (A logs in twice; a third code for C is refused with when to try again).
// The browser is Debian's /usr/bin/chromium (or $CHROMIUM); this never downloads one.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const USER_A = { typed: '+7 912 000-00-01', e164: '+79120000001' };
// Typed the national way: DEFAULT_REGION (RU) reads it.
const USER_B = { typed: '8 (912) 000-00-02', e164: '+79120000002' };
// Asks for codes only, until refused.
const USER_C = { typed: '+79120000003', e164: '+79120000003' };
// Generous: CI runs a debug build beside the rest of the test suite on two cores.
const TIMEOUT_MS = 15_000;

const [base, ...flags] = process.argv.slice(2);
if (!base?.startsWith('http')) {
  console.error('usage: node flow.mjs <base URL> [--screenshots <dir>]');
  process.exit(2);
}
const shotsAt = flags.indexOf('--screenshots');
const screenshots = shotsAt >= 0 ? flags[shotsAt + 1] : process.env.SCREENSHOTS_DIR;
// However Chromium or the page hangs, the run ends; the Rust test reports the output.
setTimeout(() => {
  console.error('flow: timed out after 120 s');
  process.exit(3);
}, 120_000).unref();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
});
const context = await browser.newContext({ viewport: { width: 560, height: 480 } });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
// What the CSP or a script refused; an API's 4xx shows up as "Failed to load resource".
const problems = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
    problems.push(`console: ${message.text()}`);
  }
});

// Each name once, numbered in the order first taken: page-1-phone.png, page-2-….
const shots = new Set();
async function screenshot(name) {
  if (!screenshots || shots.has(name)) return;
  shots.add(name);
  await mkdir(screenshots, { recursive: true });
  const path = `${screenshots}/page-${shots.size}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
}

/** Waits until `selector` is visible and its text is `expected` (or matches it); returns it. */
async function shows(selector, expected) {
  const element = page.locator(selector);
  const deadline = Date.now() + TIMEOUT_MS;
  let text = null;
  while (Date.now() < deadline) {
    if (await element.isVisible()) {
      text = (await element.textContent()).replace(/\s+/g, ' ').trim();
      const good = typeof expected === 'string' ? text === expected : expected.test(text);
      if (good) return text;
    }
    await page.waitForTimeout(50);
  }
  const wanted = typeof expected === 'string' ? JSON.stringify(expected) : expected;
  assert.fail(`${selector} shows ${JSON.stringify(text)}; expected ${wanted}`);
}

async function step(name, body) {
  await body();
  console.log(`ok: ${name}`);
}

/** Phone → code → profile; answers the code the page showed. */
async function logIn(user, { wrongCodeFirst = false } = {}) {
  await page.fill('#phone-number', user.typed);
  await page.click('#phone-form button[type=submit]');
  await shows('#code-phone', user.e164);
  const code = await shows('#debug-code', /^\d{4,8}$/);
  await screenshot('code');
  if (wrongCodeFirst) {
    const wrong = code.slice(0, -1) + String((Number(code.at(-1)) + 1) % 10);
    await page.fill('#verification-code', wrong);
    await page.click('#code-form button[type=submit]');
    await shows('#code-error', /^verification_code: .+/);
  }
  await page.fill('#verification-code', code);
  await page.press('#verification-code', 'Enter');
  await shows('#profile-phone', user.e164);
  return code;
}

async function logOut() {
  await page.click('#logout');
  await shows('#phone-step h2', 'Log in with your phone');
  assert.ok(await page.locator('#profile-step').isHidden());
  const left = (await context.cookies()).filter((c) => c.name.startsWith('phoneauth_'));
  assert.deepEqual(left, [], 'logout clears both cookies');
}

try {
  let inviteCodeOfA = '';

  await step('the page opens on the phone step', async () => {
    await page.goto(base);
    await shows('#phone-step h2', 'Log in with your phone');
    await screenshot('phone');
  });

  await step('a bad phone shows the field error', async () => {
    await page.fill('#phone-number', '12');
    await page.click('#phone-form button[type=submit]');
    await shows('#phone-error', /^phone_number: .*not a valid phone number/);
    await screenshot('phone-error');
  });

  await step('a third code for one phone is refused, saying when to try again', async () => {
    for (let sent = 0; sent < 2; sent += 1) {
      await page.fill('#phone-number', USER_C.typed);
      await page.click('#phone-form button[type=submit]');
      await shows('#code-phone', USER_C.e164);
      await page.click('#other-phone');
    }
    await page.click('#phone-form button[type=submit]');
    await shows('#phone-error', /^too many codes sent to this number Try again in \d+ (s|min)\.$/);
    await screenshot('throttled');
  });

  await step('A logs in (after a wrong code) and sees an invite code and no referrals', async () => {
    await logIn(USER_A, { wrongCodeFirst: true });
    inviteCodeOfA = await shows('#profile-invite-code', /^[A-Z0-9]{6}$/);
    await shows('#profile-referral-count', '0');
    await shows('#referrals', 'No one has used your invite code yet.');
    await shows('#profile-invited-by', 'nobody yet');
    await screenshot('profile');
  });

  await step('the session cookie is HttpOnly and out of reach of scripts', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'phoneauth_session');
    assert.ok(session, `no session cookie in ${JSON.stringify(cookies.map((c) => c.name))}`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(session.value.length >= 43, 'a whole session token');
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes(session.value), 'document.cookie holds the session token');
    assert.ok(!visible.includes('phoneauth_session'), visible);
    assert.match(visible, /phoneauth_csrf=/, 'the CSRF cookie is for the page to read');
  });

  await step('a reload keeps A logged in', async () => {
    await page.reload();
    await shows('#profile-invite-code', inviteCodeOfA);
  });

  await step('A logs out and is back at the phone step', logOut);

  await step('B logs in, is refused their own code, and sets A as inviter', async () => {
    await logIn(USER_B);
    const own = await shows('#profile-invite-code', /^[A-Z0-9]{6}$/);
    await page.fill('#invited-by', own);
    await page.click('#inviter-form button[type=submit]');
    await shows('#profile-error', /^invited_by: .+/);
    // Case and spaces are ignored.
    await page.fill('#invited-by', ` ${inviteCodeOfA.toLowerCase()} `);
    await page.click('#inviter-form button[type=submit]');
    await shows('#inviter-done', `Inviter set: ${inviteCodeOfA}.`);
    await shows('#profile-invited-by', inviteCodeOfA);
    assert.ok(await page.locator('#inviter-form').isHidden(), 'an inviter is set once');
    assert.ok(await page.locator('#profile-error').isHidden(), 'the old error is gone');
    await screenshot('inviter-set');
  });

  await step('B logs out', logOut);

  await step('A logs in again and sees B among 1 referral', async () => {
    await logIn(USER_A);
    await shows('#profile-referral-count', '1');
    await shows('#referrals li .referral-phone', USER_B.e164);
    assert.equal(await page.locator('#referrals li').count(), 1);
    await screenshot('referrals');
  });

  await step('logout returns to the phone step', async () => {
    await logOut();
    await page.reload();
    await shows('#phone-step h2', 'Log in with your phone');
  });

  assert.deepEqual(problems, [], 'no CSP violation, script error or console error');
  console.log(`flow: passed${screenshots ? `; ${shots.size} screenshots in ${screenshots}` : ''}`);
} finally {
  await browser.close();
}
