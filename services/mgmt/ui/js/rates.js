// Per-object rates for lists. RabbitMQ sends `<counter>_details.rate`; where only
// the cumulative counter comes, the rate is the change since this page last saw it.
const seen = new Map();  // id -> { t, value, rate }

export function counterRate(id, value, now = Date.now()) {
  if (value === undefined || value === null) return undefined;
  const prev = seen.get(id);
  if (prev && now - prev.t < 1000) return prev.rate;  // the same refresh, drawn twice
  const rate = prev ? Math.max(0, (value - prev.value) / ((now - prev.t) / 1000)) : undefined;
  seen.set(id, { t: now, value, rate });
  return rate;
}

// stats: the object holding `key` and/or `key_details`; id names the object.
export function rateOf(stats, key, id) {
  const given = stats?.[`${key}_details`]?.rate;
  return given !== undefined ? given : counterRate(`${id}\u0000${key}`, stats?.[key]);
}
