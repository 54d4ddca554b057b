// The chat page against a node in auth mode jwt (CHAT_AUTH=jwt, HS256): the app that signed the
// user in opens the page with the token in the address's fragment.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startNode, unique, waitFor } from '../lib/cluster.js';
import { joinRoom, launchBrowser, say, screenshot, status, waitShown } from '../lib/browser.js';

const SECRET = crypto.randomBytes(32).toString('hex');

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

/** An HS256 token for `sub`, valid for `seconds`, with `roles` when given. */
function token(sub, seconds, roles) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + seconds, ...(roles ? { roles } : {}) }));
  const sig = crypto.createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

describe('the chat page in auth mode jwt', () => {
  let node;
  let browser;

  before(async () => {
    node = await startNode({ name: unique('web-jwt-'), env: { CHAT_AUTH: 'jwt', CHAT_JWT_SECRET: SECRET } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await node?.kill();
  });

  async function open(nick, jwt) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const who = { nick, context, page, problems: [] };
    page.on('pageerror', e => who.problems.push(`page error: ${e.message}`));
    await page.goto(`${node.url}/#token=${jwt}`);
    return who;
  }

  test('signs in with the token from the address, takes it out of the address bar, and chats', async () => {
    const nick = unique('jo');
    const who = await open(nick, token(nick, 600));
    await waitFor(`${nick} online`, async () => (await status(who)) === 'online', 20_000, 100);
    assert.equal(await who.page.locator('#me').textContent(), nick);
    assert.equal(new URL(who.page.url()).hash, '', 'the token left the address bar');
    const room = unique('r-');
    await joinRoom(who, room);
    await say(who, 'signed in by token');
    await waitShown(who, ['signed in by token']);

    await who.page.reload();
    await waitFor(`${nick} online after a reload`, async () => (await status(who)) === 'online', 20_000, 100);
    assert.equal(await who.page.locator('#me').textContent(), nick);
    assert.deepEqual(who.problems, []);
    await screenshot(who, 'jwt-signed-in');
    await who.context.close();
  });

  test('a moderator (token roles ["moderator"]) can delete anyone\'s message, and others see it deleted', async () => {
    const room = unique('r-');
    const nick = unique('jo');
    const modNick = unique('mod');
    const user = await open(nick, token(nick, 600));
    const mod = await open(modNick, token(modNick, 600, ['moderator']));
    for (const who of [user, mod]) {
      await waitFor('online', async () => (await status(who)) === 'online', 20_000, 100);
      await joinRoom(who, room);
    }
    await say(user, 'something to moderate');
    await waitShown(mod, ['something to moderate']);
    const msg = mod.page.locator('#messages li.msg', { hasText: 'something to moderate' });
    assert.equal(await msg.getByRole('button', { name: /^Edit/ }).count(), 0, 'moderators delete, they do not edit');
    await msg.getByRole('button', { name: `Delete ${nick}'s message` }).click();
    await mod.page.getByRole('button', { name: 'Delete', exact: true }).click();
    await waitShown(user, ['This message was deleted']);
    await waitShown(mod, ['This message was deleted']);
    await screenshot(mod, 'jwt-moderator-deleted');
    // Without the role, someone else's message has no delete.
    await say(mod, 'from the moderator');
    await waitShown(user, ['This message was deleted', 'from the moderator']);
    assert.equal(await user.page.locator('#messages li.msg', { hasText: 'from the moderator' }).getByRole('button').count(), 0);
    assert.deepEqual([...user.problems, ...mod.problems], []);
    await user.context.close();
    await mod.context.close();
  });

  test('goes offline and says so when the token expires', async () => {
    const nick = unique('brief');
    const who = await open(nick, token(nick, 3));
    await waitFor(`${nick} online`, async () => (await status(who)) === 'online', 20_000, 100);
    await waitFor(`${nick} offline at expiry`, async () => (await status(who)) === 'offline', 15_000, 100);
    assert.match(await who.page.locator('#status-text').textContent(), /token expired/);
    await who.context.close();
  });
});
