// REDIS_URL with REDIS_CLUSTER=true: one or more seed nodes of a Redis Cluster, comma-separated
// `redis://[user:password@]host:port` (or rediss:// for TLS). The client finds the other nodes
// from any seed that answers; the login and TLS apply to every node, found or given, so the
// seeds must agree on them. Pure: parsing and the hash-tag rule, no client (config.ts reads it).

export interface ClusterSeeds {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

/** The seed nodes, or what is wrong with them (never echoing a password). */
export function parseClusterSeeds(value: string): ClusterSeeds | string {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return 'names no seed node (redis://host:port, several separated by commas)';
  const nodes: ClusterSeeds['nodes'] = [];
  let login: { username: string; password: string } | null = null;
  let tls: boolean | null = null;
  for (const [i, part] of parts.entries()) {
    const which = parts.length > 1 ? `seed ${i + 1}` : 'the seed';
    let u: URL;
    try {
      u = new URL(part);
    } catch {
      return `${which} is not a URL (redis://[user:password@]host:port)`;
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `${which} must start with redis:// or rediss://`;
    if (!u.hostname) return `${which} has no host`;
    if (u.pathname !== '' && u.pathname !== '/' && u.pathname !== '/0') return `${which} names a database (${u.pathname}): a Redis Cluster has only database 0`;
    const secure = u.protocol === 'rediss:';
    if (tls !== null && tls !== secure) return 'the seeds mix redis:// and rediss://: every node of a cluster is reached the same way';
    tls = secure;
    if (u.username || u.password) {
      let here: { username: string; password: string };
      try {
        here = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
      } catch {
        return `${which} has a user or password that is not properly URI-encoded`;
      }
      if (login && (login.username !== here.username || login.password !== here.password)) {
        return 'the seeds give different users or passwords: every node of a cluster takes the same login (give it once, or the same on each)';
      }
      login = here;
    }
    nodes.push({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) });
  }
  return {
    nodes,
    ...(login?.username ? { username: login.username } : {}),
    ...(login?.password ? { password: login.password } : {}),
    tls: tls ?? false,
  };
}

/**
 * The hash tag Redis Cluster hashes a key by: what lies between the key's first `{` and the
 * first `}` after it, when that is not empty; null when the key has none (it is then hashed
 * whole). A prefix with a tag puts every key that starts with it in the tag's slot.
 */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/** REDIS_URL lists several servers (a cluster's seeds) rather than one. */
export function listsSeveralServers(value: string): boolean {
  return value.split(',').filter((p) => /^\s*rediss?:\/\//i.test(p)).length > 1;
}
