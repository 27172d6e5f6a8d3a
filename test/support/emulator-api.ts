import { Client } from 'pg';
import type { Emulator } from '../../tools/emulator';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Minimal raw client for behaviour tests: returns status and parsed body, never throws on HTTP errors. */
export function rawApi(emu: Emulator) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; headers: Headers }> => {
    const res = await fetch(`${emu.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  };
}

/** Runs one query on a fresh connection (so a test sees which database an endpoint serves right now). */
export async function queryOnce<T = Json>(uri: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
