import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createRedisClient } from '../../infra/redis/client.js';
import { provideRedis } from '../../infra/redis/provider.js';
import { isUnavailable } from '../../infra/tools/service.js';
import { createRedisIdempotencyStore } from '../../infra/redis/idempotency.js';
import { describeWithService } from '../setup/services.js';
import { client, type Client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const assessment = { food: true, clothing: true, education: true, medical: true, housing: false, water: true };

describeWithService('redis', 'Idempotency-Key retries when the key store has lost the key (Redis restarted empty, or down)', (redisUrl) => {
  let redis: Redis;
  let svc: TestService;
  let cadre: Client;
  let supervisor: Client;

  beforeAll(async () => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    svc = await startTestService({ idempotency: createRedisIdempotencyStore(redis, `e2e-lost-${Date.now()}:`) });
    await registerPrefecture(client(svc.baseUrl, await svc.token(U.diqing, 'admin')));
    cadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre'));
    supervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
  });
  afterAll(async () => {
    await svc?.stop();
    redis?.disconnect();
  });

  const forgetEveryKey = async () => {
    for (const key of await redis.keys('e2e-lost-*')) await redis.del(key);
  };

  it('given 10 acknowledged assessments, when the keys are lost and each is sent again, then no second HouseholdAssessed is appended', async () => {
    const first = [];
    for (let i = 0; i < 10; i++) {
      const answer = await cadre.post('/v1/households/hh-1/assessments', assessment, { 'idempotency-key': `assess-${i}` });
      expect(answer.status).toBe(200);
      first.push(answer.body);
    }
    const head = await svc.head();
    await forgetEveryKey();
    for (let i = 0; i < 10; i++) {
      const again = await cadre.post('/v1/households/hh-1/assessments', assessment, { 'idempotency-key': `assess-${i}` });
      expect(again.status).toBe(200);
      expect(again.body.events).toEqual(first[i].events);
    }
    expect(await svc.head()).toBe(head);
    const assessed = (await svc.events()).filter((e) => e.streamId === 'household-hh-1' && e.type === 'HouseholdAssessed');
    expect(assessed).toHaveLength(10);
  });

  it('given a found problem and an acknowledgement, when the keys are lost and both are retried, then the original answers come back and nothing is appended', async () => {
    const body = {
      targetUnitId: U.qibie,
      responsibleUnitId: U.qibie,
      category: 'housing',
      source: 'inspection',
      description: '危房改造未完成',
      severity: 'high',
      deadline: '2099-06-30',
    };
    const found = await supervisor.post('/v1/problems', body, { 'idempotency-key': 'find-lost' });
    expect(found.status).toBe(201);
    const ack = await cadre.post(`/v1/problems/${found.body.id}/acknowledge`, {}, { 'idempotency-key': 'ack-lost' });
    expect(ack.status).toBe(200);
    const head = await svc.head();
    await forgetEveryKey();
    const foundAgain = await supervisor.post('/v1/problems', body, { 'idempotency-key': 'find-lost' });
    expect(foundAgain.status).toBe(201);
    expect(foundAgain.body).toMatchObject({ id: found.body.id, events: found.body.events });
    const ackAgain = await cadre.post(`/v1/problems/${found.body.id}/acknowledge`, {}, { 'idempotency-key': 'ack-lost' });
    expect(ackAgain.status).toBe(200);
    expect(ackAgain.body.events).toEqual(ack.body.events);
    expect(await svc.head()).toBe(head);
  });

  it('given the key store is down, when a command is sent and retried, then both are answered 2xx and its events are stored once', async () => {
    // A Redis of this test's own, so stopping it troubles no other suite.
    const own = await provideRedis({ useDocker: false });
    if (isUnavailable(own)) throw new Error(own.unavailable);
    const ownClient = createRedisClient(own.url, { name: 'e2e-down' });
    ownClient.on('error', () => {});
    const downSvc = await startTestService({ idempotency: createRedisIdempotencyStore(ownClient) });
    try {
      await registerPrefecture(client(downSvc.baseUrl, await downSvc.token(U.diqing, 'admin')));
      const cadreDown = client(downSvc.baseUrl, await downSvc.token(U.qibie, 'cadre'));
      await own.stop();
      const head = await downSvc.head();
      const first = await cadreDown.post('/v1/households/hh-2/assessments', assessment, { 'idempotency-key': 'assess-down' });
      expect(first.status).toBe(200);
      const again = await cadreDown.post('/v1/households/hh-2/assessments', assessment, { 'idempotency-key': 'assess-down' });
      expect(again.status).toBe(200);
      expect(again.body.events).toEqual(first.body.events);
      const appended = (await downSvc.events()).filter((e) => e.position > head);
      expect(appended.map((e) => e.type)).toEqual(['HouseholdAssessed']);
    } finally {
      await downSvc.stop();
      ownClient.disconnect();
      await own.stop();
    }
  });
});
