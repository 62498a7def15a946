import { dockerAnswers } from '../tools/docker.js';
import { errorMessage, unavailable, type Unavailable } from '../tools/service.js';

export interface EventStoreDbServer {
  readonly connectionString: string;
  /** `ESDB_URL` or `testcontainers`, for logs. */
  readonly source: string;
  readonly stop: () => Promise<void>;
}

const ESDB_IMAGE = 'eventstore/eventstore:24.10';

/**
 * An EventStoreDB for the caller: `ESDB_URL` as is (never stopped), else a throw-away insecure
 * single-node container when a Docker engine answers, else the reason there is none.
 */
export async function provideEventStoreDb(
  url: string | undefined = process.env['ESDB_URL'],
): Promise<EventStoreDbServer | Unavailable> {
  if (url) return { connectionString: url, source: 'ESDB_URL', stop: async () => {} };
  const docker = await dockerAnswers();
  if (docker !== true) return unavailable(`ESDB_URL is not set; ${docker}`);
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(ESDB_IMAGE)
      .withEnvironment({
        EVENTSTORE_INSECURE: 'true',
        EVENTSTORE_MEM_DB: 'true',
        EVENTSTORE_RUN_PROJECTIONS: 'None',
        EVENTSTORE_CLUSTER_SIZE: '1',
      })
      .withExposedPorts(2113)
      .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCode(204))
      .withStartupTimeout(120_000)
      .start();
    return {
      connectionString: `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`,
      source: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return unavailable(`ESDB_URL is not set; testcontainers could not start ${ESDB_IMAGE}: ${errorMessage(error)}`);
  }
}
