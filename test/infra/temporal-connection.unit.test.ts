import { Client, Connection } from '@temporalio/client';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

import { localServerSettings, temporalConnectionSettings } from '../../infra/temporal/connection.js';

const dir = mkdtempSync(path.join(tmpdir(), 'duban-temporal-env-'));
const file = (name: string, text: string): string => {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
};
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

describe('Temporal connection settings from the standard environment variables', () => {
  test('given nothing, then no server is named and the namespace is default', () => {
    const settings = temporalConnectionSettings({});
    expect(settings).toMatchObject({ address: undefined, namespace: 'default', client: {}, worker: {} });
    expect(settings.summary).toEqual({ address: undefined, namespace: 'default', tls: false, apiKey: false, profile: 'default' });
  });

  test('given TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, then both connections get the address in plain gRPC and the namespace is theirs', () => {
    const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'duban' });
    expect(settings).toMatchObject({ address: 'temporal.internal:7233', namespace: 'duban' });
    expect(settings.client).toEqual({ address: 'temporal.internal:7233' });
    expect(settings.worker).toEqual({ address: 'temporal.internal:7233' });
  });

  test('given an API key, then TLS is on with the key, unless TEMPORAL_TLS=false', () => {
    const cloud = temporalConnectionSettings({ TEMPORAL_ADDRESS: 'duban.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'duban.a1b2c', TEMPORAL_API_KEY: 'secret-key' });
    expect(cloud.client).toEqual({ address: 'duban.a1b2c.tmprl.cloud:7233', apiKey: 'secret-key', tls: true });
    expect(cloud.worker).toEqual(cloud.client);
    expect(cloud.summary).toMatchObject({ tls: true, apiKey: true });
    expect(JSON.stringify(cloud.summary)).not.toContain('secret-key');

    const plain = temporalConnectionSettings({ TEMPORAL_ADDRESS: 'proxy:7233', TEMPORAL_API_KEY: 'secret-key', TEMPORAL_TLS: 'false' });
    expect(plain.client).toEqual({ address: 'proxy:7233', apiKey: 'secret-key', tls: false });
  });

  test('given mTLS files, a CA and a server name, then both connections present the pair, trust the CA and check that name', () => {
    const settings = temporalConnectionSettings({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem', 'CA'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.duban.internal',
    });
    const tls = {
      serverNameOverride: 'temporal.duban.internal',
      serverRootCACertificate: bytes('CA'),
      clientCertPair: { crt: bytes('CERT'), key: bytes('KEY') },
    };
    expect(settings.client).toEqual({ address: 'temporal.internal:7233', tls });
    expect(settings.worker).toEqual({ address: 'temporal.internal:7233', tls });
    expect(settings.summary).toMatchObject({ tls: true, apiKey: false });
  });

  test('given TEMPORAL_TLS=true alone, then TLS is on with the system roots', () => {
    expect(temporalConnectionSettings({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_TLS: 'true' }).client).toEqual({ address: 'temporal:7233', tls: {} });
  });

  test('given a config file and TEMPORAL_PROFILE, then the profile applies and the environment overrides it field by field', () => {
    const config = file(
      'temporal.toml',
      [
        '[profile.default]',
        'address = "localhost:7233"',
        '[profile.prod]',
        'address = "prod.temporal:7233"',
        'namespace = "duban-prod"',
        'api_key = "profile-key"',
        '[profile.prod.grpc_meta]',
        'x-tenant = "east"',
      ].join('\n'),
    );
    const prod = temporalConnectionSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod' });
    expect(prod).toMatchObject({ address: 'prod.temporal:7233', namespace: 'duban-prod' });
    expect(prod.client).toEqual({ address: 'prod.temporal:7233', apiKey: 'profile-key', tls: true, metadata: { 'x-tenant': 'east' } });
    expect(prod.summary.profile).toBe('prod');

    const overridden = temporalConnectionSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'duban-staging' });
    expect(overridden).toMatchObject({ address: 'prod.temporal:7233', namespace: 'duban-staging' });

    expect(temporalConnectionSettings({ TEMPORAL_CONFIG_FILE: config })).toMatchObject({ address: 'localhost:7233', namespace: 'default' });
    expect(() => temporalConnectionSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'nope' })).toThrow(/Profile 'nope' not found/);
  });

  test('given the default config file under XDG_CONFIG_HOME, then it is read without TEMPORAL_CONFIG_FILE', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'duban-xdg-'));
    const configDir = path.join(home, 'temporalio');
    mkdirSync(configDir);
    writeFileSync(path.join(configDir, 'temporal.toml'), '[profile.default]\naddress = "from-file:7233"\nnamespace = "filed"\n');
    expect(temporalConnectionSettings({ XDG_CONFIG_HOME: home })).toMatchObject({ address: 'from-file:7233', namespace: 'filed' });
  });

  test('given empty variables, then they count as unset, as for the rest of the configuration', () => {
    const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', TEMPORAL_API_KEY: '', TEMPORAL_PROFILE: '' });
    expect(settings).toMatchObject({ address: undefined, namespace: 'default', client: {} });
  });

  test('given the settings, then the namespace is the one a Client built from them uses', () => {
    const settings = temporalConnectionSettings({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_NAMESPACE: 'duban' });
    const client = new Client({ connection: Connection.lazy(settings.client), namespace: settings.namespace });
    expect(client.options.namespace).toBe('duban');
  });

  test('given a server this process started, then it is plain gRPC without a key, whatever the profile said', () => {
    expect(localServerSettings('127.0.0.1:7233', 'default')).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      client: { address: '127.0.0.1:7233' },
      worker: { address: '127.0.0.1:7233' },
    });
  });
});

