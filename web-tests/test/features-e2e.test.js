// The v1.1 chat features on the page, in headless Chromium through nginx in front of two chat nodes
// on one Redis: older history on scroll-up, "is typing", unread badges that follow the read
// position across two browsers of one user, "Seen" on direct messages, edit and delete. The tests
// run in order and share the people.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNginx, startNode, startRedis, unique, waitFor } from '../lib/cluster.js';
import { testClient } from '../lib/clients.js';
import { joinRoom, launchBrowser, person, say, screenshot, shownTexts, waitShown } from '../lib/browser.js';

describe('the v1.1 chat features in Chromium, through nginx, on two nodes', () => {
  let redis;
  const nodes = [];
  let nginx;
  let browser;
  let alice;
  let bob;
  let bob2;  // bob's second browser
  let seeder;
  const room = unique('r-');
  const said = [];

  before(async () => {
    redis = await startRedis();
    const env = { CHAT_HISTORY_ON_JOIN: '10' };
    nodes.push(...await Promise.all([
      startNode({ name: unique('feat-web-a-'), redisUrl: redis.url, env }),
      startNode({ name: unique('feat-web-b-'), redisUrl: redis.url, env }),
    ]));
    nginx = await startNginx(nodes.map(n => n.port));
    browser = await launchBrowser();
  });

  after(async () => {
    seeder?.client.close();
    for (const [who, name] of [[alice, 'alice'], [bob, 'bob'], [bob2, 'bob2']]) {
      if (who?.page && !who.page.isClosed()) {
        await screenshot(who, `f99-final-${name}`).catch(() => {});
      }
    }
    await browser?.close().catch(() => {});
    await nginx?.cleanup();
    await Promise.all(nodes.map(n => n.kill()));
    await redis?.stop();
  });

  const item = (who, text) => who.page.locator('#messages li.msg:not(.pending)', { hasText: text });
  /** Waits until the open conversation ends with `tail` (it may hold older ones before). */
  const waitEnds = (who, tail) => waitFor(`${who.nick} to end with ${JSON.stringify(tail.at(-1))}`, async () =>
    JSON.stringify((await shownTexts(who)).slice(-tail.length)) === JSON.stringify(tail), 20_000, 100);
  const noProblems = () => assert.deepEqual([alice, bob, bob2].flatMap(w => w?.problems ?? []), []);

  test('scrolling up loads older messages, in order, until the beginning', async () => {
    // The room has a past: 75 messages from someone before alice and bob come (10 come with the
    // join, a page holds 50).
    seeder = testClient({ url: nodes[0].wsUrl, user: unique('old') });
    seeder.client.join(room).connect();
    await seeder.waitJoined(room);
    for (let i = 1; i <= 75; i++) {
      const text = `old ${i}`;
      seeder.client.send(room, text);
      said.push(text);
    }
    await waitFor('the past stored', () => seeder.client.outbox().length === 0, 20_000);

    alice = await person(browser, nginx.url, unique('alice'));
    bob = await person(browser, nginx.url, unique('bob'));
    await joinRoom(alice, room);
    await joinRoom(bob, room);
    await waitShown(bob, said.slice(-10));
    const button = bob.page.getByRole('button', { name: 'Load older messages' });
    assert.ok(await button.isVisible());
    await screenshot(bob, 'f01-bob-latest-ten');

    // Scroll up: the page loads the next page and keeps what was on screen in place.
    const box = await bob.page.locator('#scroller').boundingBox();
    await bob.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await waitFor('a page loaded', async () => {
      await bob.page.mouse.wheel(0, -2000);
      return (await shownTexts(bob)).length > 10;
    });
    await waitShown(bob, said.slice(-60));  // one page of 50 before the ten
    // The button does the same from the keyboard.
    for (let i = 0; i < 5 && await button.isVisible(); i++) {
      await button.focus();
      await bob.page.keyboard.press('Enter');
      await waitFor('the load ended', async () => !(await button.isDisabled().catch(() => false)));
    }
    await waitShown(bob, said);
    assert.equal(await button.isVisible(), false, 'nothing older to load');
    assert.equal(await bob.page.locator('#older-status').textContent(), 'Beginning of the conversation');
    await bob.page.locator('#scroller').evaluate(s => { s.scrollTop = 0; });
    await screenshot(bob, 'f02-bob-all-history');
    noProblems();
  });

  test('"alice is typing…" shows to bob while she types and goes when she sends', async () => {
    const input = alice.page.getByLabel('Message', { exact: true });
    await input.focus();
    await alice.page.keyboard.type('hello bo');
    const typing = bob.page.locator('#typing');
    await waitFor('bob sees alice typing', async () => (await typing.textContent()) === `${alice.nick} is typing…`);
    assert.equal(await typing.getAttribute('aria-live'), 'polite');
    assert.equal(await alice.page.locator('#typing').textContent(), '', 'nobody is shown their own typing');
    await screenshot(bob, 'f03-bob-sees-alice-typing');
    await alice.page.keyboard.type('b');
    await input.press('Enter');
    said.push('hello bob');
    await waitShown(bob, said);
    assert.equal(await typing.textContent(), '', 'cleared by her message');
    noProblems();
  });

  test('alice edits and deletes her own messages with the keyboard; bob sees both, and cannot touch hers', async () => {
    await say(alice, 'this has a typo');
    await say(alice, 'this will go');
    said.push('this has a typo', 'this will go');
    await waitEnds(alice, said.slice(-3));
    await waitShown(bob, said);
    assert.equal(await item(bob, 'this has a typo').getByRole('button').count(), 0, 'no edit or delete on others\' messages');

    await item(alice, 'this has a typo').getByRole('button', { name: 'Edit your message' }).focus();
    await alice.page.keyboard.press('Enter');
    const box = alice.page.getByLabel('Edit message');
    await box.waitFor();
    assert.equal(await box.inputValue(), 'this has a typo');
    await box.fill('this had a typo');
    await screenshot(alice, 'f04-alice-editing');
    await box.press('Enter');
    said[said.indexOf('this has a typo')] = 'this had a typo';
    await waitShown(bob, said);
    await waitEnds(alice, said.slice(-3));
    assert.equal(await item(bob, 'this had a typo').locator('.edited').textContent(), '(edited)');

    await item(alice, 'this will go').getByRole('button', { name: 'Delete your message' }).click();
    await alice.page.getByRole('button', { name: 'Delete', exact: true }).click();
    said[said.indexOf('this will go')] = 'This message was deleted';
    await waitShown(bob, said);
    await waitEnds(alice, said.slice(-3));
    assert.equal(await bob.page.locator('#messages li.msg.deleted').count(), 1);
    await screenshot(bob, 'f05-bob-sees-edit-and-delete');

    // A reload keeps both applied.
    await bob.page.reload();
    await waitShown(bob, said);
    noProblems();
  });

  test('reading in one of bob\'s browsers clears the unread badge in the other', async () => {
    bob2 = await person(browser, nginx.url, bob.nick);
    await joinRoom(bob2, room);
    await waitFor('bob2 caught up', async () => (await shownTexts(bob2)).at(-1) === 'This message was deleted');
    assert.equal(await bob2.page.locator(`button[data-conv="room:${room}"]`).getAttribute('data-unread'), '0',
      'read in bob\'s first browser');
    // Both of bob's browsers look at a DM with alice, away from the room.
    for (const who of [bob, bob2]) {
      await who.page.getByLabel('Message a user').fill(alice.nick);
      await who.page.getByRole('button', { name: 'Open', exact: true }).click();
      await waitFor('in the DM', async () => (await who.page.locator('#title').textContent()) === `@ ${alice.nick}`);
    }
    await say(alice, 'news for the room 1');
    await say(alice, 'news for the room 2');
    said.push('news for the room 1', 'news for the room 2');
    for (const who of [bob, bob2]) {
      const badge = who.page.locator(`button[data-conv="room:${room}"]`);
      await waitFor(`${who === bob ? 'bob' : 'bob2'} has 2 unread`, async () => (await badge.getAttribute('data-unread')) === '2');
      assert.equal(await badge.getAttribute('aria-label'), `# ${room}, 2 unread`);
    }
    await screenshot(bob, 'f06-bob-two-unread');

    await bob2.page.locator(`button[data-conv="room:${room}"]`).click();
    await waitFor('bob2 shows the news', async () => (await shownTexts(bob2)).at(-1) === 'news for the room 2');
    await waitFor('bob (the other browser) has no unread', async () =>
      (await bob.page.locator(`button[data-conv="room:${room}"]`).getAttribute('data-unread')) === '0');
    assert.equal(await bob.page.title(), 'Chat');
    await screenshot(bob, 'f07-bob-read-elsewhere');
    noProblems();
  });

  test('alice sees "Seen" on her direct message once bob has read it', async () => {
    await alice.page.getByLabel('Message a user').fill(bob.nick);
    await alice.page.getByRole('button', { name: 'Open', exact: true }).click();
    await say(alice, 'did you read this?');
    await waitShown(alice, ['did you read this?']);
    assert.equal(await item(alice, 'did you read this?').locator('.seen').count(), 0);
    // bob2 is in the room: the DM is unread there until he opens it.
    const dm = bob2.page.locator(`button[data-conv="dm:${alice.nick}"]`);
    await waitFor('bob2 has the DM unread', async () => (await dm.getAttribute('data-unread')) === '1');
    await dm.click();
    await waitShown(bob2, ['did you read this?']);
    await waitFor('alice sees Seen', async () => (await item(alice, 'did you read this?').locator('.seen').count()) === 1);
    await screenshot(alice, 'f08-alice-dm-seen');
    noProblems();
  });

  test('the new controls work at phone width', async () => {
    await alice.page.setViewportSize({ width: 375, height: 740 });
    await alice.page.getByRole('button', { name: 'Back to rooms and people' }).click();
    await alice.page.getByRole('button', { name: `# ${room}` }).click();
    await item(alice, 'news for the room 2').waitFor();
    await item(alice, 'news for the room 2').getByRole('button', { name: 'Edit your message' }).click();
    await alice.page.getByLabel('Edit message').waitFor();
    const overflow = await alice.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
    await screenshot(alice, 'f09-phone-editing');
    await alice.page.getByLabel('Edit message').press('Escape');
    await item(alice, 'news for the room 2').getByRole('button', { name: 'Edit your message' }).waitFor();
    noProblems();
  });
});
