import stats from '../cache/stats.js';
import { defineOp } from '../op.js';

/** The seed's monitoring view of the cache: the same figures as cache_cache_stats. */
export default defineOp({
  ...stats,
  id: 'monitoring.cache-stats',
  mcpName: 'monitoring_get_cache_stats',
  title: 'Cache statistics (monitoring)',
  description: `${stats.description} Redis INFO on Redis; the embedded cache's own counters otherwise.`,
});
