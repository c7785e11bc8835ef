// The Salesforce ledger of a queue prefix as if it had been running since `ms` (Redis time):
// tests and the benchmark run it in steady state, where a recent version it has no record of
// was never attempted (a ledger that has just begun looks for everything first).
import { Redis } from 'ioredis';
import { ledgerSinceKey } from '../../src/store/salesforce-ledger.ts';
import { TEST_REDIS_URL } from './env.ts';

export async function ledgerRunningSince(prefix: string, ms: number, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await redis.set(ledgerSinceKey(prefix), String(Math.trunc(ms)));
  } finally {
    redis.disconnect();
  }
}
