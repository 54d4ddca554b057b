// A page stays connected while Redis restarts from an older snapshot (SAVE, more acknowledged
// messages, kill -9, a restart that loads the snapshot), through nginx on two nodes.
//
// What "every acknowledged message exactly once" means here: the messages acknowledged after the
// SAVE are gone from Redis. The page showed them before the rollback; the service then announces
// the loss (a joined with a new epoch and recovered:false), the client library resets the room, and
// the page shows the room as Redis now holds it: the messages that survived, once each, then every
// message acknowledged after the rollback, once each. A lost message is neither shown twice nor
// kept beside a different message of the same seq, and nothing acknowledged after the rollback is
// dropped (the new messages reuse the lost ones' seqs, in a new epoch: a client that de-duplicated
// by seq across the rollback would hide them, which this test catches).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNginx, startNode, startRedis, unique, waitFor } from '../lib/cluster.js';
import { joinRoom, launchBrowser, person, say, screenshot, shownTexts, waitShown } from '../lib/browser.js';

describe('the chat page across a Redis rollback', () => {
  let redis;
  const nodes = [];
  let nginx;
  let browser;

  before(async () => {
    redis = await startRedis({ snapshots: true });
    nodes.push(...await Promise.all([
      startNode({ name: unique('web-rb-a-'), redisUrl: redis.url }),
      startNode({ name: unique('web-rb-b-'), redisUrl: redis.url }),
    ]));
    nginx = await startNginx(nodes.map(n => n.port));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await nginx?.cleanup();
    await Promise.all(nodes.map(n => n.kill()));
    await redis?.stop();
  });

  test('a page connected across the rollback shows the surviving and every later acknowledged message once each', async () => {
    const room = unique('r-');
    const alice = await person(browser, nginx.url, unique('alice'));
    const bob = await person(browser, nginx.url, unique('bob'));
    await joinRoom(alice, room);
    await joinRoom(bob, room);

    const saved = ['saved 1', 'saved 2', 'saved 3'];
    for (const text of saved) {
      await say(alice, text);
    }
    await waitShown(bob, saved);
    await redis.save();
    const lost = ['acked, then rolled back 1', 'acked, then rolled back 2'];
    for (const text of lost) {
      await say(alice, text);
    }
    // Shown as confirmed (not pending) on both pages: stored in Redis and acknowledged.
    await waitShown(alice, [...saved, ...lost]);
    await waitShown(bob, [...saved, ...lost]);

    await redis.kill();
    await redis.restart();
    await waitFor('both nodes ready again', async () => {
      const ready = await Promise.all(nodes.map(n => fetch(`${n.url}/health/ready`).then(r => r.status, () => 0)));
      return ready.every(s => s === 200);
    }, 30_000, 100);

    const later = ['after the rollback 1', 'after the rollback 2'];
    for (const text of later) {
      await say(bob, text);
    }
    await waitShown(bob, [...saved, ...later], 30_000);
    await waitShown(alice, [...saved, ...later], 30_000);
    await screenshot(alice, 'rollback-alice');
    for (const who of [alice, bob]) {
      const texts = await shownTexts(who);
      assert.equal(new Set(texts).size, texts.length, `${who.nick} shows no message twice`);
    }
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  });
});
