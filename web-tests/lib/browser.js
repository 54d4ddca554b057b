// Headless Chromium (the system's, driven by playwright-core; no browser download) and helpers
// that read the chat page the way a person sees it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, waitFor } from './cluster.js';

const CHROMIUM = process.env.CHAT_CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/**
 * One person: a browser context (its own localStorage) with a page on the chat, signed in as
 * `nick`. `problems` collects what must never happen: uncaught errors and dialogs (alert).
 */
export async function person(browser, baseUrl, nick, viewport = { width: 1100, height: 760 }) {
  const context = await browser.newContext({ viewport });
  const who = { nick, context, baseUrl, problems: [], page: null };
  who.page = await openPage(who);
  await who.page.getByLabel('Nickname').fill(nick);
  await who.page.getByLabel('Nickname').press('Enter');
  await waitOnline(who);
  return who;
}

/** A new tab of `who` on the chat (the nickname is remembered by the page). */
export async function openPage(who) {
  const page = await who.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', e => who.problems.push(`page error: ${e.message}`));
  page.on('dialog', d => {
    who.problems.push(`dialog: ${d.type()} ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.goto(`${who.baseUrl}/`);
  who.page = page;
  return page;
}

export async function status(who) {
  return who.page.locator('#status').getAttribute('data-status');
}

export async function nodeOf(who) {
  return who.page.locator('#status').getAttribute('data-node');
}

export async function waitOnline(who, timeoutMs = 20_000) {
  await waitFor(`${who.nick} online`, async () => (await status(who)) === 'online', timeoutMs, 100);
}

/** The confirmed messages of the open conversation, as shown: their texts, in order. */
export async function shownTexts(who) {
  return who.page.$$eval('#messages li.msg:not(.pending) .text', els => els.map(e => e.textContent));
}

export async function pendingTexts(who) {
  return who.page.$$eval('#messages li.msg.pending .text', els => els.map(e => e.textContent));
}

/** Waits until the open conversation shows exactly `texts` (confirmed), and nothing pending. */
export async function waitShown(who, texts, timeoutMs = 20_000) {
  let last = [];
  try {
    await waitFor(`${who.nick} to show ${texts.length} messages`, async () => {
      last = await shownTexts(who);
      return JSON.stringify(last) === JSON.stringify(texts) && (await pendingTexts(who)).length === 0;
    }, timeoutMs, 100);
  } catch (e) {
    e.message += `\n  shown: ${JSON.stringify(last)}\n  wanted: ${JSON.stringify(texts)}`;
    throw e;
  }
}

/** Types `text` into the message box and presses Enter, like a person. */
export async function say(who, text) {
  const input = who.page.getByLabel('Message', { exact: true });
  await input.fill(text);
  await input.press('Enter');
}

export async function joinRoom(who, room) {
  await who.page.getByLabel('Room name').fill(room);
  await who.page.getByRole('button', { name: 'Join', exact: true }).click();
  await waitFor(`${who.nick} in ${room}`, async () => (await who.page.locator('#title').textContent()) === `# ${room}`);
}

export async function screenshot(who, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await who.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
