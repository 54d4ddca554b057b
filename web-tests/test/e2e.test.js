// Two people chat in headless Chromium through nginx (round-robin, deploy/nginx/chat.conf) in front
// of two chat nodes on one Redis: rooms, DMs, a node killed under one of them, messages typed while
// disconnected, reloads, and hostile markup. The tests run in order and share the people.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNginx, startNode, startRedis, unique, waitFor } from '../lib/cluster.js';
import {
  joinRoom, launchBrowser, nodeOf, openPage, pendingTexts, person, say, screenshot, shownTexts, status, waitOnline,
  waitShown,
} from '../lib/browser.js';

describe('the chat page in Chromium, through nginx, on two nodes', () => {
  let redis;
  const nodes = [];
  let nginx;
  let browser;
  let alice;
  let bob;
  const room = unique('r-');
  const said = [];  // every text said in the room, in order: what each page must show, once each

  before(async () => {
    redis = await startRedis();
    nodes.push(...await Promise.all([
      startNode({ name: unique('web-a-'), redisUrl: redis.url }),
      startNode({ name: unique('web-b-'), redisUrl: redis.url }),
    ]));
    nginx = await startNginx(nodes.map(n => n.port));
    browser = await launchBrowser();
  });

  after(async () => {
    for (const who of [alice, bob]) {
      if (who?.page && !who.page.isClosed()) {
        await screenshot(who, `99-final-${who === alice ? 'alice' : 'bob'}`).catch(() => {});
      }
    }
    await browser?.close().catch(() => {});
    await nginx?.cleanup();
    await Promise.all(nodes.map(n => n.kill()));
    await redis?.stop();
  });

  async function speak(who, text) {
    await say(who, text);
    said.push(text);
  }

  test('two people chat in a room and by direct message', async () => {
    alice = await person(browser, nginx.url, unique('alice'));
    bob = await person(browser, nginx.url, unique('Zoë'));  // Unicode nicknames are fine
    await joinRoom(alice, room);
    await joinRoom(bob, room);
    await waitFor('alice sees bob join', async () =>
      (await alice.page.locator('#messages li.notice').allTextContents()).includes(`${bob.nick} joined`));
    await waitFor('alice sees 2 online', async () => (await alice.page.locator('#online').textContent()) === '2 online');

    await speak(alice, 'hello there');
    await speak(bob, 'hi alice, 👋');
    await waitShown(alice, said);
    await waitShown(bob, said);

    await bob.page.getByRole('button', { name: `Message ${alice.nick}` }).click();
    await waitFor('bob in the conversation with alice', async () =>
      (await bob.page.locator('#title').textContent()) === `@ ${alice.nick}`);
    await say(bob, 'a secret for you');
    await waitShown(bob, ['a secret for you']);
    const dmButton = alice.page.locator(`button[data-conv="dm:${bob.nick}"]`);
    await waitFor('alice has 1 unread from bob', async () => (await dmButton.getAttribute('data-unread')) === '1');
    assert.equal(await dmButton.getAttribute('aria-label'), `${bob.nick}, 1 unread`);
    await screenshot(alice, '01-alice-unread-dm');
    await dmButton.click();
    await waitShown(alice, ['a secret for you']);
    await waitFor('alice read it', async () => (await dmButton.getAttribute('data-unread')) === '0');
    await say(alice, 'got it');
    await waitShown(bob, ['a secret for you', 'got it']);
    await screenshot(bob, '02-bob-dm');

    // A room message while alice looks at the DM counts as unread in the room's entry.
    await bob.page.locator(`button[data-conv="room:${room}"]`).click();
    await waitShown(bob, said);
    await speak(bob, 'back in the room');
    const roomButton = alice.page.locator(`button[data-conv="room:${room}"]`);
    await waitFor('alice has 1 unread in the room', async () => (await roomButton.getAttribute('data-unread')) === '1');

    await roomButton.click();
    await waitShown(alice, said);
    await waitFor('alice read the room', async () => (await roomButton.getAttribute('data-unread')) === '0');
    await waitShown(bob, said);
    await screenshot(alice, '03-alice-room');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('markup in a message shows as text and runs nothing', async () => {
    const res = await fetch(`${nginx.url}/`);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');

    const hostile = '<img src=x onerror=alert(1)>';
    await speak(alice, hostile);
    await speak(alice, '<script>alert(2)</script><b>bold?</b>');
    await waitShown(bob, said);
    await waitShown(alice, said);
    for (const who of [alice, bob]) {
      assert.equal(await who.page.locator('#messages img, #messages script, #messages b').count(), 0);
    }
    await screenshot(bob, '04-bob-markup-as-text');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('when the node under one page is killed, it reconnects through nginx to the other and shows every message once', async () => {
    // Round-robin decides where each socket lands; reload alice until the two are on different
    // nodes, so that alice keeps talking while bob's node is gone.
    for (let i = 0; i < 12 && (await nodeOf(alice)) === (await nodeOf(bob)); i++) {
      await alice.page.reload();
      await waitOnline(alice);
    }
    const bobNode = await nodeOf(bob);
    assert.notEqual(await nodeOf(alice), bobNode, 'alice and bob on different nodes');
    await waitShown(alice, said);
    const victim = nodes.find(n => n.name === bobNode);
    const survivor = nodes.find(n => n !== victim);

    await victim.kill();
    await speak(alice, 'sent while bob was away 1');
    await speak(alice, 'sent while bob was away 2');
    await waitFor('bob back on the survivor', async () =>
      (await status(bob)) === 'online' && (await nodeOf(bob)) === survivor.name, 30_000, 100);
    await speak(alice, 'sent after bob came back');
    await speak(bob, 'bob is back');
    await waitShown(bob, said);
    await waitShown(alice, said);
    await screenshot(bob, '05-bob-after-node-kill');

    const restarted = await startNode({ name: victim.name, redisUrl: redis.url, port: victim.port });
    nodes.splice(nodes.indexOf(victim), 1, restarted);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('a message typed while disconnected shows as pending and is delivered once after the reconnect', async () => {
    await nginx.stop();
    await waitFor('both pages lost the service', async () =>
      (await status(alice)) !== 'online' && (await status(bob)) !== 'online', 20_000, 100);
    await say(bob, 'typed while disconnected');
    await waitFor('shown as pending', async () => (await pendingTexts(bob)).includes('typed while disconnected'));
    assert.deepEqual(await shownTexts(bob), said);
    await screenshot(bob, '06-bob-pending-while-disconnected');
    said.push('typed while disconnected');

    await nginx.start();
    await waitOnline(bob, 40_000);
    await waitShown(bob, said);
    await waitShown(alice, said);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('a reload keeps the conversation and the unsent outbox, which is then delivered once', async () => {
    // Keep bob's page from reaching the WebSocket (HTTP still works), so what he types stays unsent.
    await bob.page.routeWebSocket(/\/ws/, ws => ws.close({ code: 1011, reason: 'blocked by the test' }));
    await bob.page.reload();
    await waitShown(bob, said);
    await say(bob, 'typed, then the page reloaded');
    await waitFor('pending', async () => (await pendingTexts(bob)).includes('typed, then the page reloaded'));

    await bob.page.reload();
    await waitFor('the reloaded page shows the unsent message', async () =>
      (await pendingTexts(bob)).includes('typed, then the page reloaded'));
    assert.deepEqual(await shownTexts(bob), said, 'the conversation survived the reload');
    assert.notEqual(await status(bob), 'online');
    await screenshot(bob, '07-bob-reloaded-with-unsent');
    said.push('typed, then the page reloaded');

    // The person closes the tab and opens the chat again, now with a working connection.
    const blocked = bob.page;
    await blocked.close();
    await openPage(bob);
    await waitOnline(bob);
    await waitShown(bob, said);
    await waitShown(alice, said);
    await screenshot(bob, '08-bob-reopened-delivered');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('the page works at phone width and says what its controls are', async () => {
    await bob.page.setViewportSize({ width: 375, height: 740 });
    await waitShown(bob, said);
    const overflow = await bob.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
    await screenshot(bob, '09-phone-conversation');
    await bob.page.getByRole('button', { name: 'Back to rooms and people' }).click();
    await bob.page.getByRole('button', { name: `# ${room}` }).waitFor();
    await screenshot(bob, '10-phone-list');
    await bob.page.getByRole('button', { name: `# ${room}` }).click();
    await bob.page.getByLabel('Message', { exact: true }).waitFor();
    await speak(bob, 'from a phone');
    await waitShown(alice, said);
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });

  test('a person who logs out is announced as gone', async () => {
    await waitOnline(alice);
    await waitFor('alice sees 2 online', async () => (await alice.page.locator('#online').textContent()) === '2 online');
    await bob.page.getByRole('button', { name: 'Log out' }).click();
    await bob.page.getByLabel('Nickname').waitFor();
    await waitFor('alice sees bob leave', async () =>
      (await alice.page.locator('#messages li.notice').allTextContents()).includes(`${bob.nick} left`));
    await waitFor('alice sees 1 online', async () => (await alice.page.locator('#online').textContent()) === '1 online');
    await screenshot(alice, '11-alice-bob-left');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });
});
