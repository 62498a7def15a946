import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';

import { createRedisClient } from '../../infra/redis/client.js';
import { describeWithService } from '../setup/services.js';

describeWithService('redis', 'the Redis the test run provides', (redisUrl) => {
  let client: Redis;
  let subscriber: Redis;

  beforeAll(() => {
    client = createRedisClient(redisUrl, { name: 'redis-int-test' });
    subscriber = createRedisClient(redisUrl, { name: 'redis-int-test-sub' });
  });
  afterAll(async () => {
    await Promise.all([client.quit(), subscriber.quit()]);
  });

  test('given a key written with a TTL, when it is read back, then the value and the TTL are the ones written', async () => {
    const key = `duban:test:${crypto.randomUUID()}`;
    await client.set(key, '督办', 'EX', 60);

    expect(await client.get(key)).toBe('督办');
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await client.info('server')).toMatch(/redis_version:\d+/);
  });

  test('given a subscriber on a channel, when a message is published, then the subscriber receives it', async () => {
    const channel = `duban:test:${crypto.randomUUID()}`;
    const received = new Promise<string>((resolve) => {
      subscriber.on('message', (from, message) => {
        if (from === channel) resolve(message);
      });
    });
    await subscriber.subscribe(channel);

    const receivers = await client.publish(channel, JSON.stringify({ problem: 'p-1', event: 'ProblemCleared' }));

    expect(receivers).toBe(1);
    expect(JSON.parse(await received)).toEqual({ problem: 'p-1', event: 'ProblemCleared' });
  });
});
